package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strings"

	"github.com/casellario-pec/casellario/shared/domain"
	"github.com/casellario-pec/casellario/shared/namelist"
	"github.com/casellario-pec/casellario/shared/s3docs"
	"github.com/casellario-pec/casellario/shared/uploads"
	"github.com/casellario-pec/casellario/shared/validate"
)

func init() {
	register("submit", command{summary: "upload a name list for an office; prints the upload id", run: runSubmit})
	register("dispatch", command{summary: "run dispatch now (--now): batch, protocol and send pending people", run: runDispatch})
}

func runSubmit(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	office := fs.String("office", "", "office code, e.g. SUAP (required)")
	tenant := fs.String("tenant", os.Getenv("CASELLARIO_TENANT"), "tenant (IPA code, e.g. c_g999); default $CASELLARIO_TENANT, else the first tenant configured")
	protoNum := fs.String("protocol-number", "", "the number the protocol office gave the request by hand (the protocol office only)")
	protoDate := fs.String("protocol-date", "", "its date, YYYY-MM-DD")
	endpoints := endpointsFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario submit --office CODE [--tenant T] [--protocol-number N --protocol-date YYYY-MM-DD] [--endpoints FILE] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	switch {
	case fs.NArg() != 1:
		fmt.Fprintln(e.stderr, "casellario submit: the list file is missing")
		fs.Usage()
		return 2
	case *office == "":
		fmt.Fprintln(e.stderr, "casellario submit: --office is missing")
		fs.Usage()
		return 2
	case (*protoNum == "") != (*protoDate == ""):
		fmt.Fprintln(e.stderr, "casellario submit: --protocol-number and --protocol-date go together")
		return 2
	}
	path := fs.Arg(0)
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if !s3docs.ValidUploadExt(ext) {
		fmt.Fprintf(e.stderr, "casellario submit: %s: the list must be a .csv, .xlsx or .json file\n", path)
		return 2
	}
	manual, err := uploads.ParseManual(*protoNum, *protoDate)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario submit:", domain.ErrorMessage(err))
		return 2
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario submit:", err)
		return 1
	}
	// A list that cannot be read is refused here, with the same report
	// `casellario validate` prints, before anything is stored.
	rep, err := validate.File(filepath.Base(path), bytes.NewReader(data), validate.Options{Today: domain.DateOf(timeNow().In(rome()))})
	if err != nil {
		// The reader's own words (Italian, as the office reads them), not a generic failure.
		var re *namelist.ReadError
		if errors.As(err, &re) {
			fmt.Fprintf(e.stderr, "casellario submit: %s cannot be read as a list:\n%s\n", filepath.Base(path), re.Message)
		} else {
			fmt.Fprintf(e.stderr, "casellario submit: %s cannot be read as a list: %v\n", filepath.Base(path), err)
		}
		return 1
	}
	t, err := openTarget(ctx, *endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario submit:", err)
		return 1
	}
	if *tenant == "" && len(t.tenants.Tenants) > 0 {
		*tenant = t.tenants.Tenants[0].ID
	}
	if _, _, err := t.tenants.Office(*tenant, *office); err != nil {
		fmt.Fprintln(e.stderr, "casellario submit:", err)
		return 2
	}
	if rep.Summary.Valid == 0 {
		fmt.Fprintf(e.stderr, "casellario submit: no valid row in %s (%d rows): nothing submitted; `casellario validate %s` says why\n",
			filepath.Base(path), rep.Summary.Rows, path)
		return 1
	}
	u, err := uploads.Submit(ctx, t.store, t.docs, uploads.Submission{Tenant: *tenant, Office: *office, Ext: ext, FileName: filepath.Base(path),
		UploadedBy: operatorName(), Protocol: manual, Data: data}, domain.CauseUser(operatorName()))
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario submit:", domain.ErrorMessage(err))
		return 1
	}
	if rep.Summary.Invalid > 0 {
		fmt.Fprintf(e.stderr, "%d of %d rows refused: the office's report lists why (`casellario validate %s`)\n", rep.Summary.Invalid, rep.Summary.Rows, path)
	}
	fmt.Fprintln(e.stdout, u.ID)
	return 0
}

// operatorName is who the audit trail says uploaded a list from the CLI.
func operatorName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

func runDispatch(ctx context.Context, e env, args []string) int {
	fs := flag.NewFlagSet("dispatch", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	now := fs.Bool("now", false, "run dispatch now (required: the schedule runs it otherwise)")
	endpoints := endpointsFlag(fs)
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: casellario dispatch --now [--endpoints FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !*now || fs.NArg() != 0 {
		if !*now {
			fmt.Fprintln(e.stderr, "casellario dispatch: --now is missing (dispatch runs on its schedule; --now runs it at once)")
		} else {
			fmt.Fprintln(e.stderr, "casellario dispatch: unexpected arguments:", strings.Join(fs.Args(), " "))
		}
		fmt.Fprintln(e.stderr, "usage: casellario dispatch --now [--endpoints FILE]")
		return 2
	}
	t, err := openTarget(ctx, *endpoints)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario dispatch:", err)
		return 1
	}
	if t.local == nil {
		fmt.Fprintln(e.stderr, "casellario dispatch: on AWS, invoke the dispatch function (see README, Operations)")
		return 1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.local.Control+"/dispatch", nil)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario dispatch:", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(e.stderr, "casellario dispatch: is the local run (make dev) up?", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e.stdout.Write(body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
