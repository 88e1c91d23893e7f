package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/localdev/needs"
)

// Chromium is Debian's package; `make test` installs it when missing.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the web page of the local run in headless Chromium:
// sign in as a demo office user, upload a list with one bad row and read its
// reason, wait for the certificates, and download one (its bytes are a PDF
// naming the person). CASELLARIO_SCREENSHOT=FILE keeps a screenshot of the page.
func TestBrowser(t *testing.T) {
	needs.Server(t, needs.Browser)
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Debian's chromium at %s (%v): run `make test`, which installs it (apt-get install chromium)", chromiumPath, err)
	}
	local(t)
	const office = "URBANIZZAZIONE"
	userIndex := -1
	for i, u := range run.Endpoints.Users {
		if u.Tenant == prato && u.Office == office && u.Role == "office" {
			userIndex = i
		}
	}
	if run.Endpoints.API == "" || userIndex < 0 {
		t.Fatalf("endpoints.json has no api or no demo user of %s: %+v", office, run.Endpoints.API)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "elenco.csv")
	if err := os.WriteFile(list, []byte("Cognome;Nome;Sesso;Data di nascita;Comune o Stato di nascita\n"+
		"Lupi;Ottavio;M;11/11/1961;Prato\n"+
		"Sarti;Bruna;Z;05/05/1955;Prato\n"), 0o600); err != nil {
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
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1280, 1024),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 75*time.Second)
	defer cancelT()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("headless chromium (%s) did not start: %v", chromiumPath, err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
		return s
	}
	attr := func(what string, sel chromedp.CSS, name string) string {
		t.Helper()
		a, err := chromedp.Run(ctx, chromedp.AttributeValue(sel, name))
		if err != nil || !a.Exists {
			t.Fatalf("browser: %s: %v (attribute present: %v)", what, err, a.Exists)
		}
		return a.Value
	}

	step("open the page and sign in",
		chromedp.Navigate(run.Endpoints.API+"/"),
		chromedp.WaitVisible(chromedp.ID("utente-demo")),
		chromedp.SetValue(chromedp.ID("utente-demo"), itoa(userIndex)),
		chromedp.Click(chromedp.ID("accedi-demo")),
		chromedp.WaitVisible(chromedp.ID("form-carica")),
	)
	if who := text("read the user", "#utente-nome"); !strings.Contains(who, "urbanizzazione@"+prato) {
		t.Errorf("signed in as %q", who)
	}

	step("upload a list with a bad row",
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{list}),
		chromedp.Click(chromedp.ID("carica-btn")),
		chromedp.WaitVisible(chromedp.CSS(`#righe-scartate tr.riga-scartata[data-row="3"]`)),
	)
	summary := text("read the summary", "#esito-riepilogo")
	reason := text("read the reason", `#righe-scartate tr.riga-scartata[data-row="3"] td.motivo`)
	if !strings.Contains(summary, "Accettate: 1") || !strings.Contains(summary, "Scartate: 1") {
		t.Errorf("summary %q", summary)
	}
	if !strings.Contains(strings.ToLower(reason), "sesso") {
		t.Errorf("reason of the bad row %q does not speak of the sex", reason)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	shotFile := os.Getenv("CASELLARIO_SCREENSHOT")
	if shotFile == "" {
		shotFile = filepath.Join(dir, "pagina.png")
	}
	if err := os.WriteFile(shotFile, shot, 0o600); err != nil {
		t.Fatal(err)
	}

	// Intake runs on the S3 notification; dispatch and poll on demand.
	bg := context.Background()
	waitFor(t, "intake of the browser's upload", 20*time.Second, func() bool {
		ups, err := run.Store.ListUploads(bg, prato, office, 5)
		return err == nil && len(ups) == 1 && ups[0].State == domain.UploadQueued
	})
	control(t, "dispatch")
	waitFor(t, "the certificates of the browser's batch", 30*time.Second, func() bool {
		control(t, "poll")
		bs, err := run.Store.ListBatches(bg, prato, office, nil, 5)
		return err == nil && len(bs) == 1 && bs[0].State == domain.BatchCompleted
	})

	step("open the batch and ask for a certificate",
		chromedp.Click(chromedp.ID("aggiorna")),
		chromedp.WaitVisible(chromedp.CSS(`button.apri-richiesta`)),
		chromedp.Click(chromedp.CSS(`button.apri-richiesta`)),
		chromedp.WaitVisible(chromedp.CSS(`#dettaglio li.fatto[data-step="completed"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.scarica-certificato`)),
	)
	subject := attr("read the subject", `button.scarica-certificato`, "data-subject")
	step("download", chromedp.Click(chromedp.CSS(`button.scarica-certificato`)), chromedp.WaitVisible(chromedp.CSS(`a.link-certificato`)))
	href := attr("read the link", `a.link-certificato`, "href")
	if subject == "" || !strings.HasPrefix(href, "http") || strings.Contains(strings.ToUpper(href), "LUPI") {
		t.Fatalf("certificate link %q for subject %q", href, subject)
	}
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("certificate download: %d %.40q", resp.StatusCode, pdf)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "LUPI") || !strings.Contains(text, "OTTAVIO") {
		t.Errorf("the certificate does not name the person: %.300s", text)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
