package pdf

// Names and operators that occur in every document are shared instead of
// allocated each time they are read.

var commonNames = func() map[string]name {
	m := map[string]name{}
	for _, s := range []string{
		"Type", "Subtype", "Length", "Filter", "DecodeParms", "Predictor", "Columns", "Colors", "BitsPerComponent",
		"EarlyChange", "FlateDecode", "ASCIIHexDecode", "ASCII85Decode", "LZWDecode", "RunLengthDecode", "DCTDecode",
		"Catalog", "Pages", "Page", "Kids", "Count", "Parent", "Resources", "MediaBox", "CropBox", "Rotate", "Contents",
		"Font", "XObject", "Form", "Image", "ProcSet", "PDF", "Text", "ImageB", "ImageC", "ImageI", "ExtGState", "ColorSpace",
		"Pattern", "Shading", "Properties", "BaseFont", "Encoding", "ToUnicode", "FirstChar", "LastChar", "Widths",
		"FontDescriptor", "DescendantFonts", "Type0", "Type1", "Type3", "TrueType", "CIDFontType0", "CIDFontType2",
		"Identity-H", "Identity-V", "WinAnsiEncoding", "MacRomanEncoding", "StandardEncoding", "Differences",
		"BaseEncoding", "W", "DW", "CIDSystemInfo", "Registry", "Ordering", "Supplement", "Flags", "FontBBox",
		"ItalicAngle", "Ascent", "Descent", "CapHeight", "StemV", "FontFile", "FontFile2", "FontFile3", "FontName",
		"MissingWidth", "FontMatrix", "Root", "Size", "Prev", "Info", "ID", "Encrypt", "XRef", "XRefStm", "Index",
		"ObjStm", "N", "First", "Extends", "Matrix", "BBox", "Group", "Annots", "Producer", "Creator", "CreationDate",
		"ModDate", "Title", "Author", "Metadata", "Width", "Height", "Name", "Helvetica", "Helvetica-Bold",
		"Times-Roman", "Courier", "F1", "F2", "F3", "F4", "F5", "F6", "Im1", "Fm1", "GS1", "DeviceRGB", "DeviceGray",
		"DeviceCMYK", "Rect", "Border", "A", "S", "URI", "Annot", "Link", "Dest", "P", "BleedBox", "TrimBox", "ArtBox",
		"UserUnit", "StructParents", "Tabs", "CA", "ca", "BM", "SMask", "Normal", "L", "DL", "Decode",
	} {
		m[s] = name(s)
	}
	return m
}()

func internName(b []byte) name {
	if n, ok := commonNames[string(b)]; ok {
		return n
	}
	return name(b)
}

var commonKeywords = func() map[string]keyword {
	m := map[string]keyword{}
	for _, s := range []string{
		"BT", "ET", "Tf", "Td", "TD", "Tm", "T*", "TL", "Tc", "Tw", "Tz", "Ts", "Tr", "Tj", "TJ", "'", "\"",
		"q", "Q", "cm", "Do", "re", "f", "f*", "F", "S", "s", "n", "W", "W*", "m", "l", "c", "v", "y", "h", "B", "B*",
		"b", "b*", "w", "J", "j", "M", "d", "ri", "i", "gs", "CS", "cs", "SC", "SCN", "sc", "scn", "G", "g", "RG", "rg",
		"K", "k", "sh", "BI", "ID", "EI", "MP", "DP", "BMC", "BDC", "EMC", "BX", "EX", "d0", "d1",
		"obj", "endobj", "stream", "endstream", "R", "xref", "trailer", "startxref",
		"begincodespacerange", "endcodespacerange", "beginbfchar", "endbfchar", "beginbfrange", "endbfrange",
		"begincidrange", "endcidrange", "begincidchar", "endcidchar", "def", "begin", "end", "usecmap",
	} {
		m[s] = keyword(s)
	}
	return m
}()

func internKeyword(b []byte) keyword {
	if k, ok := commonKeywords[string(b)]; ok {
		return k
	}
	return keyword(b)
}
