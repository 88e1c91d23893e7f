package fiscalcode

// foldTable maps the Latin letters of Latin-1 Supplement and Latin Extended-A
// (U+00C0..U+017F) to the uppercase ASCII letters the Agenzia uses for them;
// "" means not a letter. Names of people born abroad bring such letters (Müller,
// Łukasz, Ștefan) and the clerk may type them as the document shows.
var foldTable [0x180 - 0xC0]string

func init() {
	for base, runes := range map[string]string{
		"A":  "ÀÁÂÃÄÅàáâãäåĀāĂăĄą",
		"AE": "Ææ",
		"C":  "ÇçĆćĈĉĊċČč",
		"D":  "ÐðĎďĐđ",
		"E":  "ÈÉÊËèéêëĒēĔĕĖėĘęĚě",
		"G":  "ĜĝĞğĠġĢģ",
		"H":  "ĤĥĦħ",
		"I":  "ÌÍÎÏìíîïĨĩĪīĬĭĮįİı",
		"IJ": "Ĳĳ",
		"J":  "Ĵĵ",
		"K":  "Ķķĸ",
		"L":  "ĹĺĻļĽľĿŀŁł",
		"N":  "ÑñŃńŅņŇňŉŊŋ",
		"O":  "ÒÓÔÕÖØòóôõöøŌōŎŏŐő",
		"OE": "Œœ",
		"R":  "ŔŕŖŗŘř",
		"S":  "ŚśŜŝŞşŠšſ",
		"SS": "ß",
		"T":  "ŢţŤťŦŧ",
		"TH": "Þþ",
		"U":  "ÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲų",
		"W":  "Ŵŵ",
		"Y":  "ÝýÿŶŷŸ",
		"Z":  "ŹźŻżŽž",
	} {
		for _, r := range runes {
			foldTable[r-0xC0] = base
		}
	}
}

// foldRune returns the ASCII letters a non-ASCII rune counts as, or "" when it is not
// a letter the code can hold (combining accents of decomposed text included, so
// "Nicolo\u0300" counts as Nicolo).
func foldRune(r rune) string {
	switch {
	case r >= 0xC0 && r < 0x180:
		return foldTable[r-0xC0]
	case r == 'Ș' || r == 'ș': // Romanian comma-below letters, outside Extended-A
		return "S"
	case r == 'Ț' || r == 'ț':
		return "T"
	}
	return ""
}
