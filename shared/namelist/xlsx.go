package namelist

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"
)

const (
	// maxZipEntries bounds the parts excelize loads into its maps.
	maxZipEntries = 10_000
	// maxZipRatio: deflate cannot exceed ~1030:1; real sheets stay far below
	// 200:1. Only parts big enough to matter are checked.
	maxZipRatio      = 300
	ratioCheckMinLen = 8 << 20
	// xmlInMemory: worksheets bigger than this go to a temporary file
	// (excelize UnzipXMLSizeLimit), keeping peak memory low.
	xmlInMemory = 16 << 20
)

// checkZip inspects the central directory before anything is inflated.
// archive/zip refuses to inflate past a part's declared size, so bounding the
// declared sizes bounds the real ones.
func checkZip(data []byte, opts Options) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return corruptXLSX(err)
	}
	if len(zr.File) > maxZipEntries {
		return readErr(CodeTooLarge, nil, "Il file Excel contiene troppe parti interne (%d): non è un normale elenco.", len(zr.File))
	}
	var total uint64
	hasWorkbook, isODF := false, false
	for _, f := range zr.File {
		switch strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/")) {
		case "xl/workbook.xml":
			hasWorkbook = true
		case "content.xml":
			isODF = true
		}
		total += f.UncompressedSize64
		if f.UncompressedSize64 > uint64(opts.MaxUncompressed) || total > uint64(opts.MaxUncompressed) {
			return tooLargeXLSX(opts)
		}
		if f.UncompressedSize64 > ratioCheckMinLen && f.UncompressedSize64 > maxZipRatio*(f.CompressedSize64+1) {
			return tooLargeXLSX(opts)
		}
	}
	if !hasWorkbook && isODF {
		return readErr(CodeCorrupt, nil, "Il file è un foglio OpenDocument (.ods, LibreOffice): salvarlo come «Cartella di lavoro di Excel (.xlsx)» o come CSV.")
	}
	if !hasWorkbook {
		return readErr(CodeCorrupt, nil, "Il file è un archivio ZIP ma non un foglio Excel (.xlsx): caricare l'elenco come .xlsx o CSV.")
	}
	return nil
}

func corruptXLSX(err error) *ReadError {
	return readErr(CodeCorrupt, err, "Il file Excel è danneggiato o non è un file .xlsx valido: aprirlo in Excel e salvarlo di nuovo come .xlsx, oppure come CSV.")
}

func tooLargeXLSX(opts Options) *ReadError {
	return readErr(CodeTooLarge, nil, "Il file Excel, una volta decompresso, supera la dimensione massima consentita (%s).", sizeLabel(opts.MaxUncompressed))
}

// sheetSink turns spreadsheet rows into header and data rows; shared by the
// fast scanner and the excelize path.
type sheetSink struct {
	h     *Header
	m     *mapper
	opts  Options
	fn    func(Row) error
	inFn  bool
	sent  int
	fnErr error // the last error from the header, MaxRows or fn: never a fallback
}

func (s *sheetSink) add(num int, cells []string) error {
	if len(cells) == 0 {
		return nil
	}
	if s.m == nil {
		if allBlank(cells) {
			return nil
		}
		s.h.HeaderRow = num
		m, err := buildHeader(s.h, cells, num)
		if err != nil {
			s.fnErr = err
			return err
		}
		m.maxRows = s.opts.MaxRows
		s.m = m
		return nil
	}
	r, ok := s.m.row(num, cells)
	if !ok {
		return nil
	}
	s.inFn = true
	err := s.m.emit(r, s.fn)
	s.inFn = false
	s.sent++
	if err != nil {
		s.fnErr = err
	}
	return err
}

// width is how many columns rows need densely: the header's, once known.
func (s *sheetSink) width() int {
	if s.m == nil {
		return -1
	}
	return len(s.m.cols)
}

func (s *sheetSink) finish(sheet string) error {
	if s.m == nil {
		return readErr(CodeNoHeader, nil, "Il foglio «%s» è vuoto. La prima riga deve contenere i nomi delle colonne (%s).", clip(sheet), expectedColumns())
	}
	return nil
}

func pickSheet(sheets []string, want string) (string, error) {
	if len(sheets) == 0 {
		return "", corruptXLSX(errors.New("no sheets"))
	}
	if want == "" {
		return sheets[0], nil
	}
	for _, s := range sheets {
		if s == want {
			return s, nil
		}
	}
	for _, s := range sheets {
		if strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(want)) {
			return s, nil
		}
	}
	return "", readErr(CodeNoHeader, nil, "Il foglio «%s» non esiste nel file. Fogli presenti: %s.", clip(want), quoteList(sheets))
}

// readXLSX reads one sheet: the fast scanner first, excelize when the
// scanner meets something it does not handle before delivering any row.
// A panic inside the readers on a malformed file becomes a "corrupt"
// error; a panic in fn is re-raised.
func readXLSX(data []byte, opts Options, fn func(Row) error) (h Header, err error) {
	h = Header{Format: FormatXLSX}
	if err := checkZip(data, opts); err != nil {
		return h, err
	}
	sink := &sheetSink{h: &h, opts: opts, fn: fn}
	defer func() {
		if p := recover(); p != nil {
			if sink.inFn {
				panic(p)
			}
			err = corruptXLSX(fmt.Errorf("panic: %v", p))
		}
	}()
	if !forceExcelize {
		err = scanXLSX(data, opts, sink)
		if err != errFallback {
			return h, err
		}
		h = Header{Format: FormatXLSX}
		sink = &sheetSink{h: &h, opts: opts, fn: fn}
	}
	return h, excelizeXLSX(data, opts, sink)
}

// forceExcelize makes tests exercise the excelize path.
var forceExcelize = false

func scanXLSX(data []byte, opts Options, sink *sheetSink) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return errFallback
	}
	wb, err := readWorkbook(zr)
	if err != nil {
		return errFallback
	}
	sheet, err := pickSheet(wb.sheets, opts.Sheet)
	if err != nil {
		return err
	}
	var sst []string
	if wb.sst != "" {
		if sst, err = readSST(zr, wb.sst); err != nil {
			return errFallback
		}
	}
	rc, err := zipFile(zr, wb.sheetPaths[sheet]).Open()
	if err != nil {
		return errFallback
	}
	defer rc.Close()
	err = scanSheet(rc, sst, -1, func(num int, cells []string) (int, error) {
		err := sink.add(num, cells)
		return sink.width(), err
	})
	switch {
	case err == nil:
		return sink.finish(sheet)
	case err == sink.fnErr:
		return err
	case sink.sent == 0:
		return errFallback
	}
	return corruptXLSX(err)
}

// excelizeXLSX streams the sheet with excelize's Rows iterator.
func excelizeXLSX(data []byte, opts Options, sink *sheetSink) error {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{
		RawCellValue:      true,
		UnzipSizeLimit:    opts.MaxUncompressed,
		UnzipXMLSizeLimit: min(opts.MaxUncompressed, xmlInMemory),
	})
	if err != nil {
		if f != nil {
			_ = f.Close()
		}
		if strings.Contains(err.Error(), "unzip size") {
			return tooLargeXLSX(opts)
		}
		return corruptXLSX(err)
	}
	defer f.Close() // removes excelize's temporary files

	sheet, err := pickSheet(f.GetSheetList(), opts.Sheet)
	if err != nil {
		return err
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return corruptXLSX(err)
	}
	defer rows.Close()
	rowNum := 0
	// rows.Next yields every row number, including the gaps between stored
	// rows, so counting calls gives the sheet's real row numbers.
	for rows.Next() {
		rowNum++
		cells, err := rows.Columns()
		if err != nil {
			return corruptXLSX(err)
		}
		if err := sink.add(rowNum, cells); err != nil {
			return err
		}
	}
	if err := rows.Error(); err != nil {
		return corruptXLSX(err)
	}
	return sink.finish(sheet)
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "«" + clip(v) + "»"
	}
	return strings.Join(q, ", ")
}

// GenerateXLSX builds an .xlsx with one sheet ("Sheet1"): header on row 1,
// rows below. For tests and benchmarks of packages that read lists.
func GenerateXLSX(header []string, rows [][]any) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	hdr := make([]any, len(header))
	for i, v := range header {
		hdr[i] = v
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return nil, err
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, r); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
