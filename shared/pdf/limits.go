package pdf

import (
	"context"
	"errors"
	"fmt"
)

// Limits bound the work on one document. Zero or negative fields take the
// defaults below.
type Limits struct {
	// MaxDepth bounds nesting: arrays and dictionaries inside one object or
	// content stream, levels of the page tree, form XObjects drawn inside
	// form XObjects, references to references. Default 64.
	MaxDepth int
	// MaxObjects bounds the indirect objects registered: entries of
	// cross-reference tables and streams (free ones too, and in every
	// incremental update), objects of object streams, objects found by the
	// scan of a damaged file. Default 100_000.
	MaxObjects int
	// MaxDecoded bounds the stream bytes produced by the filters for one
	// document, plus the bytes of content streams each time one is
	// interpreted (a form drawn twice counts twice). Default 64 MiB.
	MaxDecoded int64
	// MaxPages bounds the pages of a document. Default 5000.
	MaxPages int
	// MaxOps bounds the content-stream operators interpreted for one
	// document. Default 10_000_000.
	MaxOps int
	// MaxValues bounds the values held from parsed objects: every number,
	// name, string, array and dictionary counts one, a string one more per
	// 64 bytes, a font a few (more with its own encoding or width table).
	// It bounds the memory of what was parsed, about 64 bytes a value at
	// most. Default 1_000_000.
	MaxValues int
	// MaxText bounds the bytes of text returned for one document.
	// Default 16 MiB.
	MaxText int64
}

// Defaults of Limits.
const (
	DefaultMaxDepth   = 64
	DefaultMaxObjects = 100_000
	DefaultMaxDecoded = 64 << 20
	DefaultMaxPages   = 5000
	DefaultMaxOps     = 10_000_000
	DefaultMaxValues  = 1_000_000
	DefaultMaxText    = 16 << 20
)

// Fixed bounds that are not worth a knob.
const (
	maxXrefSections = 1000    // cross-reference sections followed through /Prev and /XRefStm
	maxOperands     = 1 << 16 // values in the operands of one content-stream operator
	maxGraphicStack = 1 << 10 // q without Q kept; deeper saves are ignored
	maxCMapDest     = 64      // bytes of one ToUnicode destination string
)

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = DefaultMaxObjects
	}
	if l.MaxDecoded <= 0 {
		l.MaxDecoded = DefaultMaxDecoded
	}
	if l.MaxPages <= 0 {
		l.MaxPages = DefaultMaxPages
	}
	if l.MaxOps <= 0 {
		l.MaxOps = DefaultMaxOps
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxText <= 0 {
		l.MaxText = DefaultMaxText
	}
	return l
}

var (
	// ErrNotPDF is returned for data that is not a PDF or is too damaged to
	// read (no header, no page tree), and for encrypted documents.
	ErrNotPDF = errors.New("pdf: not a readable PDF")
	// ErrEncrypted is returned for encrypted documents; it is also an
	// ErrNotPDF.
	ErrEncrypted = fmt.Errorf("%w: encrypted (decryption is not supported)", ErrNotPDF)
	// ErrLimit is returned when a bound of Limits was reached.
	ErrLimit = errors.New("pdf: limit reached")
	// ErrPageRange is returned by ExtractPages for a page number that the
	// document does not have.
	ErrPageRange = errors.New("pdf: page number out of range")
)

// errInternal is what a panic becomes at the API boundary; no input should
// ever cause it (the fuzz tests check).
var errInternal = fmt.Errorf("%w: internal error", ErrNotPDF)

// docError is an error of one of the exported kinds with what happened and
// where; its message never holds text of the document.
type docError struct {
	kind error
	msg  string
}

func (e *docError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *docError) Unwrap() error { return e.kind }

func limitErr(format string, args ...any) error {
	return &docError{ErrLimit, fmt.Sprintf(format, args...)}
}

func notPDF(format string, args ...any) error {
	return &docError{ErrNotPDF, fmt.Sprintf(format, args...)}
}

// within says where err happened: "pdf: limit reached: page 3: nesting
// deeper than 64".
func within(err error, format string, args ...any) error {
	where := fmt.Sprintf(format, args...)
	var de *docError
	if errors.As(err, &de) && de.kind != nil {
		return &docError{de.kind, where + ": " + de.msg}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %w", where, err)
}

// fatal reports whether err must end the work on the document: a limit, the
// context, or a cross-reference table found wrong (the caller then rebuilds
// it). Other errors only lose the object, page or stream they concern.
func fatal(err error) bool {
	return err != nil && (errors.Is(err, ErrLimit) || errors.Is(err, errBadXref) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// budget is what one document has used of its Limits. A rebuilt
// cross-reference table starts again from the same budget.
type budget struct {
	ctx     context.Context
	lim     Limits
	objects int
	decoded int64
	ops     int
	values  int
	text    int64
	scanned int64 // bytes of object syntax parsed
	maxScan int64
	ticks   int
}

func newBudget(ctx context.Context, lim Limits, size int) *budget {
	lim = lim.withDefaults()
	return &budget{ctx: ctx, lim: lim, maxScan: 6*int64(size) + lim.MaxDecoded + 1<<20}
}

// tick checks the context every 1024 calls: cheap enough for inner loops.
func (b *budget) tick() error {
	b.ticks++
	if b.ticks&1023 != 0 {
		return nil
	}
	return b.ctx.Err()
}

func (b *budget) object() error {
	b.objects++
	if b.objects > b.lim.MaxObjects {
		return limitErr("more than %d objects", b.lim.MaxObjects)
	}
	return nil
}

func (b *budget) decode(n int64) error {
	b.decoded += n
	if b.decoded > b.lim.MaxDecoded {
		return limitErr("more than %d bytes of decoded streams", b.lim.MaxDecoded)
	}
	return nil
}

func (b *budget) op() error {
	b.ops++
	if b.ops > b.lim.MaxOps {
		return limitErr("more than %d content operators", b.lim.MaxOps)
	}
	return b.tick()
}

func (b *budget) value(n int) error {
	b.values += n
	if b.values > b.lim.MaxValues {
		return limitErr("more than %d values in objects", b.lim.MaxValues)
	}
	return nil
}

func (b *budget) scan(n int) error {
	b.scanned += int64(n)
	if b.scanned > b.maxScan {
		return limitErr("more than %d bytes of object syntax parsed (overlapping objects)", b.maxScan)
	}
	return nil
}

func (b *budget) addText(n int) error {
	b.text += int64(n)
	if b.text > b.lim.MaxText {
		return limitErr("more than %d bytes of text", b.lim.MaxText)
	}
	return nil
}
