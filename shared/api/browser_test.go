package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// Chromium is Debian's package; `make test` installs it when missing.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the web page of the local run in headless Chromium, at
// 1280 and at 390 pixels: sign in as a demo office user, upload a list with
// one bad row and read its reason, open the list by its e-mail link once the
// Procura simulator has answered, download a certificate (a PDF naming the
// person), the refused rows' workbook and the ZIP, open the request and come
// Back, page through the lists, search by surname; then as the protocol
// office open the triage queue and one message (at 1280 px, try to attach it
// to a request and read why it cannot be; at 390 px, dismiss it through its
// confirmation), and the report with its workbook. No view may scroll
// sideways (the list also at 320 px), and every one passes an in-page
// accessibility check (labels, names, ids, headings, contrast, focus ring).
// CASELLARIO_SCREENSHOT_DIR=DIR keeps a full-page PNG of every view.
func TestBrowser(t *testing.T) {
	needs.Server(t, needs.Browser)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's chromium at %s (%v): run `make test`, which installs it (apt-get install chromium)", chromiumPath, err)
	}
	local(t)
	const office = "URBANIZZAZIONE"
	officeIndex, protocolIndex := -1, -1
	for i, u := range run.Endpoints.Users {
		switch {
		case u.Tenant == prato && u.Office == office && u.Role == "office":
			officeIndex = i
		case u.Tenant == prato && u.Role == "protocol":
			protocolIndex = i
		}
	}
	if run.Endpoints.API == "" || officeIndex < 0 || protocolIndex < 0 {
		t.Fatalf("endpoints.json has no api or no demo users of %s: %+v", prato, run.Endpoints.API)
	}
	base := run.Endpoints.API
	bg := context.Background()

	// A message the poll could not place, for the protocol office.
	key := prato + "/pec/bb/browser-triage.eml"
	if _, err := run.Docs.Put(bg, run.Docs.Document(key), "message/rfc822",
		strings.NewReader("From: promozioni@example.test\r\nSubject: Offerta speciale\r\n\r\nNon è un messaggio PEC.\r\n")); err != nil {
		t.Fatal(err)
	}
	triage, _, err := run.Store.CreateTriage(bg, domain.TriageItem{Tenant: prato, Mailbox: "protocollo@pec.comune.prato.test",
		MessageKey: key, Kind: "non-pec", Reason: domain.Because(domain.ReasonNotPEC, "not a PEC message"),
		Facts: domain.TriageFacts{Sender: "promozioni@example.test", Subject: "Offerta speciale", Signature: "absent"}})
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, downloads := startBrowser(t, dir)
	shots := os.Getenv("CASELLARIO_SCREENSHOT_DIR")
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	b := &page{t: t, ctx: ctx, shots: shots, downloads: downloads}
	list := filepath.Join(dir, "elenco.csv")
	start := time.Now()
	for round, w := range []struct{ width, height int64 }{{1280, 900}, {390, 844}} {
		roundStart := time.Now()
		b.width = w.width
		b.do("set the viewport", chromedp.EmulateViewport(w.width, w.height))

		// Sign in.
		b.do("open the page", chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/"))
		if round > 0 {
			b.do("sign out", chromedp.WaitVisible(chromedp.ID("esci")), chromedp.Click(chromedp.ID("esci")))
		}
		b.wait("the demo users", `document.querySelectorAll('#utente-demo option[value="0"]').length === 1`)
		if opt := b.text(`#utente-demo option[value="0"]`); !strings.HasPrefix(opt, "Comune di ") || strings.Contains(opt, "c_g999") {
			t.Errorf("%d px: a demo user offered as %q: names, not codes", w.width, opt)
		}
		b.audit("accesso")
		b.focusRing()
		b.signIn(officeIndex, "Elenchi caricati")
		if who := b.text("#utente-nome"); !strings.Contains(who, "urbanizzazione@"+prato) {
			t.Errorf("%d px: signed in as %q", w.width, who)
		}

		// Upload a list with a bad row.
		if err := os.WriteFile(list, []byte("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n"+
			"Lupi;Ottavio;M;11/11/1961;Prato\n"+
			"Sarti;Bruna;Z;05/05/1955;Prato\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		b.do("open the upload form", chromedp.Click(chromedp.CSS(`#menu a[data-sezione="carica"]`)), chromedp.WaitVisible(chromedp.ID("file")))
		b.do("upload a list with a bad row",
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{list}),
			chromedp.Click(chromedp.ID("carica-btn")),
			chromedp.WaitVisible(chromedp.CSS(`#righe-scartate tr.riga-scartata[data-row="3"]`)),
		)
		summary := b.text("#esito-riepilogo")
		if !strings.Contains(summary, "Accettate: 1") || !strings.Contains(summary, "Scartate: 1") {
			t.Errorf("%d px: summary %q", w.width, summary)
		}
		if reason := b.text(`#righe-scartate tr.riga-scartata[data-row="3"] td.motivo`); !strings.Contains(strings.ToLower(reason), "sesso") {
			t.Errorf("%d px: reason of the bad row %q does not speak of the sex", w.width, reason)
		}
		b.audit("carica")
		upload := b.attr("#apri-elenco", "data-id")

		b.do("open the list", chromedp.Click(chromedp.ID("apri-elenco")), chromedp.WaitVisible(chromedp.ID("stato-elenco")))
		if n := b.text("#avviso"); n != "" {
			t.Errorf("%d px: the upload's notice %q stayed on the list's page", w.width, n)
		}

		// Intake runs on the S3 notification; dispatch and poll on demand.
		waitFor(t, "intake of the browser's upload", 20*time.Second, func() bool {
			up, err := run.Store.GetUpload(bg, prato, upload)
			return err == nil && up.State != domain.UploadReceived
		})
		control(t, "dispatch")
		waitFor(t, "the certificate of the browser's list", 30*time.Second, func() bool {
			control(t, "poll")
			ss, err := run.Store.SubjectsOfUpload(bg, prato, upload)
			return err == nil && len(ss) == 1 && ss[0].Certificate != nil
		})

		// The e-mail's link, in a fresh page.
		b.do("open the list's link", chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/#/elenchi/"+upload),
			chromedp.WaitVisible(chromedp.CSS(`button.scarica-certificato`)))
		if s := b.text("#stato-elenco"); s == "" || b.attr("#stato-elenco", "data-state") == "received" {
			t.Errorf("%d px: state of the list %q", w.width, s)
		}
		if reason := b.text(`#righe-scartate-elenco tr[data-row="3"] td.motivo`); !strings.Contains(strings.ToLower(reason), "sesso") {
			t.Errorf("%d px: the list's page gives the bad row's reason as %q", w.width, reason)
		}
		if outcome := b.text(`#persone-elenco .badge[data-state="nullo"], #persone-elenco .badge[data-state="positivo"], #persone-elenco .badge[data-state="unknown"]`); outcome == "" {
			t.Errorf("%d px: no outcome shown", w.width)
		}
		b.audit("elenco")
		if round == 1 {
			b.width = 320
			b.do("narrow the viewport", chromedp.EmulateViewport(320, 640))
			b.audit("elenco")
			b.width = w.width
			b.do("widen the viewport", chromedp.EmulateViewport(w.width, w.height))
		}

		if round == 0 {
			if x := b.download("the refused rows", "#scarti-xlsx", ".xlsx"); !bytes.HasPrefix(x, []byte("PK")) {
				t.Errorf("%d px: the refused rows' workbook: %.20q", w.width, x)
			}
		}
		pdf := b.download("the certificate", `button.scarica-certificato`, ".pdf")
		if !bytes.HasPrefix(pdf, []byte("%PDF")) {
			t.Fatalf("%d px: the certificate is not a PDF: %.40q", w.width, pdf)
		}
		if text := pdfText(t, pdf); !strings.Contains(text, "LUPI") || !strings.Contains(text, "OTTAVIO") {
			t.Errorf("%d px: the certificate does not name the person: %.300s", w.width, text)
		}
		zb := b.download("the ZIP of the list", `#zip-elenco`, ".zip")
		zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
		if err != nil || len(zr.File) != 1 || !strings.HasSuffix(zr.File[0].Name, ".pdf") {
			t.Errorf("%d px: the ZIP of the list: %v %d bytes", w.width, err, len(zb))
		}

		// The request, and Back to the list.
		b.do("open the request", chromedp.Click(chromedp.CSS(`#richieste-elenco a.apri-richiesta`)),
			chromedp.WaitVisible(chromedp.CSS(`#percorso li.fatto[data-step="completed"]`)))
		if h := b.text("h1"); !strings.Contains(h, "prot. n.") {
			t.Errorf("%d px: the request's heading %q has no protocol number", w.width, h)
		}
		b.audit("richiesta")
		b.do("go back", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.ID("stato-elenco")))

		// The lists, a page of one at a time.
		ups, err := run.Store.ListUploads(bg, prato, office, 100)
		if err != nil {
			t.Fatal(err)
		}
		b.do("open the lists", chromedp.Evaluate[chromedp.Void](`location.hash = '#/elenchi?limit=1'`),
			chromedp.WaitVisible(chromedp.ID("tabella-elenchi")))
		for shown := 1; shown < len(ups); shown++ {
			b.do("show more lists", chromedp.Click(chromedp.ID("mostra-altri")))
			b.wait("another list", fmt.Sprintf(`document.querySelectorAll('#tabella-elenchi tbody tr').length === %d`, shown+1))
		}
		if n := b.count("#mostra-altri"); n != 0 {
			t.Errorf("%d px: «Mostra altri» still offered with the %d lists shown", w.width, len(ups))
		}
		if n := b.count("#tabella-elenchi tbody tr"); n != len(ups) {
			t.Errorf("%d px: %d lists shown, want %d", w.width, n, len(ups))
		}
		b.audit("elenchi")

		// A list over the direct limit goes by presigned PUT to the bucket (once: it is the same path at any width).
		if round == 0 {
			large := filepath.Join(dir, "grande.csv")
			var rows strings.Builder
			rows.WriteString("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n")
			for i := range 40 {
				fmt.Fprintf(&rows, "Grandi;%s;F;%02d/%02d/1970;Prato\n", []string{"Anna", "Bice", "Carla", "Dora"}[i%4], 1+i%28, 1+i/28)
			}
			if rows.Len() <= browserDirectMax {
				t.Fatalf("the large list is %d bytes, not over %d", rows.Len(), browserDirectMax)
			}
			if err := os.WriteFile(large, []byte(rows.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			b.do("upload a list by presigned PUT", chromedp.Click(chromedp.CSS(`#menu a[data-sezione="carica"]`)), chromedp.WaitVisible(chromedp.ID("file")),
				chromedp.SetUploadFiles(chromedp.ID("file"), []string{large}), chromedp.Click(chromedp.ID("carica-btn")),
				chromedp.WaitVisible(chromedp.ID("stato-elenco")))
			b.wait("the large list checked", `document.querySelector('main').textContent.includes('40 accettate') && document.querySelector('main').textContent.includes('grande.csv')`)
		}

		// Search by surname.
		b.do("search", chromedp.Click(chromedp.CSS(`#menu a[data-sezione="cerca"]`)), chromedp.WaitVisible(chromedp.ID("q")),
			chromedp.SendKeys(chromedp.ID("q"), "lupi"), chromedp.Click(chromedp.ID("cerca-btn")),
			chromedp.WaitVisible(chromedp.ID("persone-trovate")))
		if found := b.text("#persone-trovate tbody"); !strings.Contains(strings.ToUpper(found), "LUPI OTTAVIO") {
			t.Errorf("%d px: search found %q", w.width, found)
		}
		// The query is personal data: it stays out of the address and the title (history) and the API's URLs.
		if seen, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.href + ' ' + document.title`)); err != nil || strings.Contains(strings.ToLower(seen), "lupi") {
			t.Errorf("%d px: the page's address and title after a search are %q (%v)", w.width, seen, err)
		}
		b.audit("cerca")

		// The protocol office.
		b.do("sign out", chromedp.Click(chromedp.ID("esci")))
		b.wait("the demo users", `document.querySelectorAll('#utente-demo option[value="0"]').length === 1`)
		b.signIn(protocolIndex, "Elenchi caricati")
		b.do("open the triage queue", chromedp.Navigate("about:blank"), chromedp.Navigate(base+"/#/smistamento"),
			chromedp.WaitVisible(chromedp.CSS(`a.apri-messaggio[data-id="`+triage.ID+`"]`)))
		b.audit("smistamento")
		b.do("open the message", chromedp.Click(chromedp.CSS(`a.apri-messaggio[data-id="`+triage.ID+`"]`)),
			chromedp.WaitVisible(chromedp.ID("stato-messaggio")))
		if why := b.text("#motivo-messaggio"); !strings.Contains(why, "PEC") {
			t.Errorf("%d px: the message's reason %q", w.width, why)
		}
		if n := b.count(`#richiesta-scelta option`); n < 2 {
			t.Errorf("%d px: no request offered for the message (%d options)", w.width, n)
		}
		if opt := b.text(`#richiesta-scelta option:nth-child(2)`); !strings.Contains(opt, "prot. ") {
			t.Errorf("%d px: a request is offered as %q, not by its protocol number", w.width, opt)
		}
		b.audit("messaggio")
		if round == 0 {
			// Not a PEC message: the API refuses to attach it to a request, and the page says why.
			b.do("attach the message to a request", chromedp.SetValue(chromedp.ID("richiesta-scelta"), "0"),
				chromedp.Click(chromedp.ID("attribuisci")), chromedp.WaitVisible(chromedp.CSS(`.conferma .btn`)))
			if q := b.text(".conferma .domanda"); !strings.Contains(q, "prot. ") {
				t.Errorf("the confirmation %q does not name the request by its protocol number", q)
			}
			b.do("confirm", chromedp.Click(chromedp.CSS(`.conferma .btn`)))
			b.wait("the refusal", `document.getElementById('errore').textContent.includes('Archiviarlo')`)
		}
		if round == 1 {
			b.do("dismiss the message", chromedp.SendKeys(chromedp.ID("motivo-archiviazione"), "pubblicità"),
				chromedp.Click(chromedp.ID("archivia")), chromedp.WaitVisible(chromedp.CSS(`.conferma .btn`)))
			b.audit("messaggio-conferma")
			b.do("confirm", chromedp.Click(chromedp.CSS(`.conferma .btn`)),
				chromedp.WaitVisible(chromedp.CSS(`#stato-messaggio[data-state="dismissed"]`)))
			if it, err := run.Store.GetTriage(bg, prato, triage.ID); err != nil || it.State != domain.TriageDismissed || it.Note != "pubblicità" {
				t.Errorf("dismissed item: %+v %v", it, err)
			}
		}

		b.do("open the report", chromedp.Click(chromedp.CSS(`#menu a[data-sezione="rapporto"]`)),
			chromedp.WaitVisible(chromedp.ID("tabella-rapporto")))
		if row := b.text("#tabella-rapporto tbody"); !strings.Contains(row, "Urbanizzazione primaria") {
			t.Errorf("%d px: the report has no row of the office: %q", w.width, row)
		}
		b.audit("rapporto")
		if x := b.download("the report's workbook", "#rapporto-xlsx", ".xlsx"); !bytes.HasPrefix(x, []byte("PK")) {
			t.Errorf("%d px: the report's workbook: %.20q", w.width, x)
		}
		t.Logf("%d px: %s", w.width, time.Since(roundStart).Round(time.Millisecond))
	}
	t.Logf("browser test: %s", time.Since(start).Round(time.Millisecond))
}

// startBrowser starts headless Chromium for the test (stopped at its end)
// with downloads going to a folder of dir, and returns its tab.
func startBrowser(t *testing.T, dir string) (context.Context, string) {
	t.Helper()
	downloads := filepath.Join(dir, "scaricati")
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("headless chromium (%s) did not start: %v", chromiumPath, err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("browser: downloads: %v", err)
	}
	ctx, cancelT := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(cancelT)
	return ctx, downloads
}

// page is the browser's tab, at one width.
type page struct {
	t         *testing.T
	ctx       context.Context
	width     int64
	shots     string
	downloads string
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("browser at %d px: %s: %v", p.width, what, err)
	}
}

// wait waits for a JavaScript condition, across page loads.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, err = chromedp.Run(p.ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`)); err == nil && ok {
			return
		}
	}
	p.t.Fatalf("browser at %d px: waiting for %s: timed out (%v)", p.width, what, err)
}

func (p *page) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent.replace(/\s+/g, ' ').trim() : ''; })()`, sel)))
	if err != nil {
		p.t.Fatalf("browser at %d px: text of %s: %v", p.width, sel, err)
	}
	return s
}

func (p *page) attr(sel, name string) string {
	p.t.Helper()
	a, err := chromedp.Run(p.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !a.Exists {
		p.t.Fatalf("browser at %d px: attribute %s of %s: %v (present: %v)", p.width, name, sel, err, a.Exists)
	}
	return a.Value
}

func (p *page) count(sel string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		p.t.Fatalf("browser at %d px: counting %s: %v", p.width, sel, err)
	}
	return n
}

// signIn signs in as the demo user at index and waits for the first view.
func (p *page) signIn(index int, title string) {
	p.t.Helper()
	p.do("sign in", chromedp.SetValue(chromedp.ID("utente-demo"), itoa(index)), chromedp.Click(chromedp.ID("accedi-demo")))
	p.wait("the first view", fmt.Sprintf(`document.title.startsWith(%q) && !document.getElementById('vista').hasAttribute('aria-busy')`, title))
}

// audit checks the view as shown: no sideways scrolling, the accessibility
// check; and keeps its screenshot.
func (p *page) audit(view string) {
	p.t.Helper()
	p.wait("the view", `!document.getElementById('vista').hasAttribute('aria-busy')`)
	over, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`))
	if err != nil {
		p.t.Fatalf("browser at %d px: %s: measuring: %v", p.width, view, err)
	}
	if over[0] > over[1] {
		wide, _ := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
			.slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)`))
		p.t.Errorf("%d px, %s: the page scrolls sideways (%d px wide in %d): %v", p.width, view, over[0], over[1], wide)
	}
	problems, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](a11yCheck))
	if err != nil {
		p.t.Fatalf("browser at %d px: %s: accessibility check: %v", p.width, view, err)
	}
	for _, pr := range problems {
		p.t.Errorf("%d px, %s: %s", p.width, view, pr)
	}
	if p.shots != "" {
		png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			p.t.Fatalf("browser at %d px: %s: screenshot: %v", p.width, view, err)
		}
		if err := os.WriteFile(filepath.Join(p.shots, fmt.Sprintf("%d-%s.png", p.width, view)), png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
}

// focusRing tabs to the skip link, then focuses the first button of the
// view, and checks the ring each one shows.
func (p *page) focusRing() {
	p.t.Helper()
	for _, focus := range []string{``, `document.querySelector('#vista button').focus()`} {
		actions := []chromedp.Action[chromedp.Void]{chromedp.KeyEvent("\t")}
		if focus != "" {
			actions = []chromedp.Action[chromedp.Void]{chromedp.Evaluate[chromedp.Void](focus)}
		}
		p.do("move the focus", actions...)
		if _, err := chromedp.Run(p.ctx, chromedp.Evaluate[[]string](a11yCheck)); err != nil {
			p.t.Fatal(err)
		}
		problem, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](focusRing))
		if err != nil {
			p.t.Fatalf("browser at %d px: focus ring: %v", p.width, err)
		}
		if problem != "" {
			p.t.Errorf("%d px: %s", p.width, problem)
		}
	}
}

// download clicks sel and returns the file with the extension that it
// downloads.
func (p *page) download(what, sel, ext string) []byte {
	p.t.Helper()
	entries, _ := os.ReadDir(p.downloads)
	for _, e := range entries {
		if err := os.Remove(filepath.Join(p.downloads, e.Name())); err != nil {
			p.t.Fatal(err)
		}
	}
	p.do("download "+what, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(p.downloads)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ext) {
				b, err := os.ReadFile(filepath.Join(p.downloads, e.Name()))
				if err == nil && len(b) > 0 {
					return b
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	msg, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.getElementById('errore').textContent + ' ' + location.href`))
	p.t.Fatalf("browser at %d px: %s: no %s file downloaded (%s)", p.width, what, ext, msg)
	return nil
}

func itoa(n int) string { return fmt.Sprint(n) }
