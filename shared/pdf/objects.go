package pdf

import "math"

// object is a PDF value: nil (null), bool, int64, float64, name, str, array,
// dict, ref, *stream, or keyword (an operator in a content stream).
type object = any

type (
	name    string
	str     string // raw bytes of a string, escapes resolved
	array   []object
	dict    map[name]object
	keyword string
	ref     struct{ num, gen int }
)

// stream is a stream object: its dictionary and its still-encoded bytes, a
// slice of the file (streams never live in object streams).
type stream struct {
	dict dict
	raw  []byte
	num  int // object number, for messages; 0 when unknown
}

// num returns a number as float64.
func num(o object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// integer returns an integer value clamped to the int range; reals are
// truncated (some writers put 12.0 where an integer belongs).
func integer(o object) (int, bool) {
	switch v := o.(type) {
	case int64:
		return clampInt(v), true
	case float64:
		if math.IsNaN(v) {
			return 0, false
		}
		if v > math.MaxInt32 {
			return math.MaxInt32, true
		}
		if v < math.MinInt32 {
			return math.MinInt32, true
		}
		return int(v), true
	}
	return 0, false
}

func clampInt(v int64) int {
	// int is 64 bits on every platform this runs on; the clamp keeps 32-bit
	// builds correct too.
	if v > math.MaxInt32 && math.MaxInt == math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 && math.MaxInt == math.MaxInt32 {
		return math.MinInt32
	}
	return int(v)
}

// matrix is an affine transform [a b c d e f].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n (m applied first).
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2],
		m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2],
		m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4],
		m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func (m matrix) apply(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2] + m[4], x*m[1] + y*m[3] + m[5]
}

// vec applies m without its translation.
func (m matrix) vec(x, y float64) (float64, float64) {
	return x*m[0] + y*m[2], x*m[1] + y*m[3]
}

// toMatrix reads a 6-number array; ok is false when it is not one or when it
// holds values that would make positions meaningless.
func toMatrix(o object) (matrix, bool) {
	a, ok := o.(array)
	if !ok || len(a) != 6 {
		return identity, false
	}
	var m matrix
	for i, v := range a {
		f, ok := num(v)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return identity, false
		}
		m[i] = f
	}
	return m, true
}
