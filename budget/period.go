package budget

import "time"

type periodKind uint8

const (
	kindMonth periodKind = iota + 1
	kindDay
	kindWeek
	kindFixed
)

// Period is how a tenant's spend is bucketed in time. Every period is
// computed in UTC whatever the time zone of the clock or the host, so all
// instances agree on the boundaries. The zero Period is invalid; use
// Monthly, Daily, Weekly or Every.
type Period struct {
	kind periodKind
	d    time.Duration
}

// Monthly is the calendar month in UTC: from the first day 00:00:00 UTC to
// the first day of the next month. It is the default.
func Monthly() Period { return Period{kind: kindMonth} }

// Daily is the calendar day in UTC.
func Daily() Period { return Period{kind: kindDay} }

// Weekly is the ISO week in UTC: Monday 00:00:00 UTC to the next Monday.
func Weekly() Period { return Period{kind: kindWeek} }

// Every is a fixed period of length d aligned to the Unix epoch: periods
// start at the multiples of d since 1970-01-01T00:00:00Z. d must be a
// positive whole number of milliseconds (New rejects anything else).
func Every(d time.Duration) Period { return Period{kind: kindFixed, d: d} }

// String describes the period: "month", "day", "week" or "every 1h0m0s".
func (p Period) String() string {
	switch p.kind {
	case kindMonth:
		return "month"
	case kindDay:
		return "day"
	case kindWeek:
		return "week"
	case kindFixed:
		return "every " + p.d.String()
	}
	return "invalid period"
}

func (p Period) validate() error {
	switch p.kind {
	case kindMonth, kindDay, kindWeek:
		return nil
	case kindFixed:
		if p.d <= 0 || p.d%time.Millisecond != 0 {
			return configErr("period: Every(%s) must be a positive whole number of milliseconds", p.d)
		}
		return nil
	}
	return configErr("period: zero Period (use Monthly, Daily, Weekly or Every)")
}

// Window is one budget period: the half-open interval [Start, End) in UTC.
type Window struct {
	// Start is the first instant of the period, End the first instant
	// of the next one.
	Start, End time.Time
}

// Contains reports whether t falls in the window.
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// String formats the window as RFC 3339 start/end.
func (w Window) String() string {
	return w.Start.Format(time.RFC3339Nano) + "/" + w.End.Format(time.RFC3339Nano)
}

// Window returns the period that contains t. The result is in UTC.
func (p Period) Window(t time.Time) Window {
	t = t.UTC()
	switch p.kind {
	case kindDay:
		s := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return Window{s, s.AddDate(0, 0, 1)}
	case kindWeek:
		s := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		// ISO weeks start on Monday: Sunday (0) is day 7.
		back := (int(s.Weekday()) + 6) % 7
		s = s.AddDate(0, 0, -back)
		return Window{s, s.AddDate(0, 0, 7)}
	case kindFixed:
		ms := p.d.Milliseconds()
		now := t.UnixMilli()
		start := now - mod(now, ms)
		return Window{time.UnixMilli(start).UTC(), time.UnixMilli(start + ms).UTC()}
	default: // month, and the zero Period (rejected by New)
		s := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Window{s, s.AddDate(0, 1, 0)}
	}
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
