package clock_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/casellario-pec/casellario/shared/localdev/sim/clock"
)

func TestFake(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clock.NewFake(t0)
	var order []string
	var at []time.Time
	c.AfterFunc(2*time.Hour, func() { order = append(order, "b"); at = append(at, c.Now()) })
	c.AfterFunc(time.Hour, func() {
		order = append(order, "a")
		at = append(at, c.Now())
		c.AfterFunc(30*time.Minute, func() { order = append(order, "a2"); at = append(at, c.Now()) }) // registered while advancing
	})
	stopped := c.AfterFunc(90*time.Minute, func() { t.Error("a stopped timer ran") })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop: want true then false")
	}
	if c.Pending() != 2 {
		t.Fatalf("pending %d", c.Pending())
	}
	c.Advance(59 * time.Minute)
	if len(order) != 0 || !c.Now().Equal(t0.Add(59*time.Minute)) {
		t.Fatalf("early: %v at %v", order, c.Now())
	}
	c.Advance(3 * time.Hour)
	want := []string{"a", "a2", "b"}
	wantAt := []time.Duration{time.Hour, 90 * time.Minute, 2 * time.Hour}
	if len(order) != 3 {
		t.Fatalf("order %v", order)
	}
	for i := range want {
		if order[i] != want[i] || !at[i].Equal(t0.Add(wantAt[i])) {
			t.Fatalf("%d: %s at %v, want %s at %v", i, order[i], at[i], want[i], t0.Add(wantAt[i]))
		}
	}
	if !c.Now().Equal(t0.Add(59*time.Minute+3*time.Hour)) || c.Pending() != 0 {
		t.Fatalf("now %v pending %d", c.Now(), c.Pending())
	}
}

func TestScaled(t *testing.T) {
	c := clock.Scaled(3600) // an hour per second
	start := c.Now()
	var fired atomic.Bool
	c.AfterFunc(time.Minute, func() { fired.Store(true) }) // 16.7 ms of real time
	time.Sleep(60 * time.Millisecond)
	if !fired.Load() {
		t.Fatal("scaled timer did not fire")
	}
	if d := c.Now().Sub(start); d < 3*time.Minute {
		t.Fatalf("scaled clock advanced %v", d)
	}
	real := clock.Real()
	if d := time.Since(real.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("real clock off by %v", d)
	}
	if clock.Scaled(-1).Now().IsZero() {
		t.Fatal("zero time")
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{`"90s"`, 90 * time.Second, false},
		{`"12h"`, 12 * time.Hour, false},
		{`1000`, time.Microsecond, false},
		{`"soon"`, 0, true},
		{`true`, 0, true},
	}
	for _, tc := range tests {
		var d clock.Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err != nil) != tc.bad || d.D() != tc.want {
			t.Errorf("%s: %v, %v", tc.in, d.D(), err)
		}
	}
	b, _ := json.Marshal(clock.Duration(90 * time.Second))
	if string(b) != `"1m30s"` {
		t.Errorf("marshal: %s", b)
	}
}
