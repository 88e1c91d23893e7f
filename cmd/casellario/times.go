package main

import (
	"fmt"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Rome on any machine

	"github.com/casellario-pec/casellario/shared/domain"
)

// Times are shown as the web page shows them: in Rome's time.
var rome = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Europe/Rome"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
})

// timeNow is the clock of the commands (tests may replace it).
var timeNow = time.Now

// romeTime formats t as DD/MM/YYYY HH:MM in Rome's time ("" for the zero time).
func romeTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(rome()).Format("02/01/2006 15:04")
}

// parseDate reads a YYYY-MM-DD date.
func parseDate(s string) (domain.Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return domain.Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	return domain.DateOf(t), nil
}
