// Package cells holds the one rule for text that may end up in a spreadsheet
// cell (the refused rows sent back to an office, the subjects file, the
// report workbook): a value a spreadsheet would read as a formula (OWASP "CSV
// injection") is refused where we validate and defused where we write.
package cells

import "strings"

// FormulaStarts are the first characters that make a spreadsheet read a cell
// as a formula or a DDE call: = + - @ and tab and carriage return (OWASP),
// and | and % that some spreadsheets also honour.
const FormulaStarts = "=+-@\t\r|%"

// Unsafe reports whether a spreadsheet would read s as a formula.
func Unsafe(s string) bool {
	return s != "" && strings.IndexByte(FormulaStarts, s[0]) >= 0
}

// Defuse returns s as text a spreadsheet shows as it is: an unsafe value gets
// a leading apostrophe, which spreadsheets take as "text follows".
func Defuse(s string) string {
	if Unsafe(s) {
		return "'" + s
	}
	return s
}
