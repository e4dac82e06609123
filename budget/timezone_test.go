package budget_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llmops-go/llmops/budget"
	"github.com/llmops-go/llmops/clock"
)

const tzChildEnv = "LLMOPS_BUDGET_TZ_CHILD"

// TestIdenticalAcrossTimeZones runs the same rollover scenario in child
// processes of this test binary with TZ=UTC, America/Los_Angeles and
// Pacific/Kiritimati (the process-wide time.Local cannot be changed safely
// inside a running test binary) and requires identical results.
func TestIdenticalAcrossTimeZones(t *testing.T) {
	if os.Getenv(tzChildEnv) == "1" {
		tzScenario(os.Stdout)
		return
	}
	outputs := map[string]string{}
	zones := map[string]string{}
	for _, tz := range []string{"UTC", "America/Los_Angeles", "Pacific/Kiritimati"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdenticalAcrossTimeZones$", "-test.count=1")
		cmd.Env = append(os.Environ(), "TZ="+tz, tzChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("TZ=%s: %v\n%s", tz, err, out)
		}
		var zone, body strings.Builder
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "zone|"):
				zone.WriteString(line)
			case strings.HasPrefix(line, "tz|"):
				body.WriteString(line + "\n")
			}
		}
		if body.Len() == 0 {
			t.Fatalf("TZ=%s: no results:\n%s", tz, out)
		}
		zones[tz], outputs[tz] = zone.String(), body.String()
	}
	if zones["UTC"] == zones["America/Los_Angeles"] || zones["UTC"] == zones["Pacific/Kiritimati"] {
		t.Fatalf("the children did not run in different zones: %v", zones)
	}
	for tz, out := range outputs {
		if out != outputs["UTC"] {
			t.Fatalf("TZ=%s differs from TZ=UTC:\n%s\nvs\n%s", tz, out, outputs["UTC"])
		}
	}
}

func tzScenario(w *os.File) {
	ctx := context.Background()
	_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local).Zone()
	fmt.Fprintf(w, "zone|%s|%d\n", time.Local, off)
	instants := []string{
		"2026-01-31T23:59:59.999Z", "2026-02-01T00:00:00Z", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00Z",
		"2028-02-28T23:59:59.999Z", "2028-02-29T00:00:00Z", "2028-02-29T23:59:59.999Z", "2028-03-01T00:00:00Z",
		"2026-03-08T10:30:00Z", "2026-11-01T09:30:00Z", // US daylight-saving switches
	}
	for _, p := range []budget.Period{budget.Monthly(), budget.Daily(), budget.Weekly(), budget.Every(5 * time.Hour)} {
		fc := clock.NewFake(time.Time{})
		e, err := budget.New(budget.NewMemory(), budget.WithClock(fc), budget.WithDefaultLimit(1_000), budget.WithPeriod(p))
		if err != nil {
			panic(err)
		}
		for _, s := range instants {
			at, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				panic(err)
			}
			fc.Set(at.Local()) // the clock speaks local time
			r, err := e.Reserve(ctx, "tenant", 300)
			if err != nil {
				panic(err)
			}
			_ = r.Settle(ctx, 300)
			st, err := e.Status(ctx, "tenant")
			if err != nil {
				panic(err)
			}
			fmt.Fprintf(w, "tz|%v|%s|%v|%s|%s|%d|%v\n", p, s, r.Decision,
				r.PeriodStart.Format(time.RFC3339), r.PeriodEnd.Format(time.RFC3339), st.Spent, r.RetryAfter())
		}
	}
}
