// Package pdf reads PDF documents that come from outside and must be assumed
// hostile: it returns the text of each page (Text) and writes a new PDF
// holding some of the pages of another (ExtractPages).
//
// It reads classic cross-reference tables and cross-reference streams,
// incremental updates, object streams, and rebuilds the table of a damaged
// file by scanning it for "N G obj". Streams may be FlateDecode (with PNG
// and TIFF predictors), LZWDecode, ASCIIHexDecode, ASCII85Decode and
// RunLengthDecode; image filters are never decoded. Text comes from simple
// fonts (standard, WinAnsi and MacRoman encodings, /Differences) and Type0
// fonts (Identity-H/V or an embedded CMap), through /ToUnicode when the font
// has one, in content streams and the form XObjects they draw. Encrypted
// documents are refused with ErrEncrypted.
//
// # Bounds
//
// Every piece of work is bounded by Limits, whose zero value takes the
// defaults (see the Default constants):
//
//   - nesting of arrays and dictionaries, of the page tree, of forms inside
//     forms and of objects needed to read other objects (a stream's /Length,
//     an object stream): MaxDepth; the parser's recursion is bounded by it;
//   - indirect objects registered: MaxObjects;
//   - bytes produced by stream filters, and bytes of content interpreted:
//     MaxDecoded, so that a decompression bomb stops at the bound;
//   - pages: MaxPages; content operators interpreted: MaxOps;
//   - values held from parsed objects (their memory): MaxValues;
//   - text returned: MaxText;
//   - object syntax parsed in all: 6 × the file size + MaxDecoded + 1 MiB, so that
//     objects placed over one another cannot make parsing quadratic.
//
// Counts and lengths read from the document (/Length, /N, /Count, /Size,
// /W, array sizes, codespace ranges...) never size an allocation: they are
// trusted only as far as the data really goes. Reference loops (a /Length
// that refers to its own object, /Kids pointing at an ancestor, /Prev
// loops, an object stream holding itself, a form drawing itself) are
// detected, and /Parent is never followed. The context is checked
// regularly, also inside decompression and content interpretation.
//
// # Guarantees
//
// The package never writes to standard output or standard error and never
// logs: the text of the documents is personal data. For the same reason its
// errors never quote the document: they say what and where ("pdf: limit
// reached: page 3: nesting deeper than 64"). No input makes it panic; a
// recover at the API boundary is the last resort, and the fuzz tests check
// that it is never reached.
package pdf
