// Package clock is the source of time that llmops packages take through
// their WithClock options, with a Fake for tests.
//
// Production code leaves the option out and gets Real, the wall clock.
// Tests pass a *Fake and move time with Advance or Set instead of
// sleeping: reservation TTLs, breaker open timeouts, fault TTLs and
// retry backoffs then run in microseconds and never flake.
//
//	fc := clock.NewFake(time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC))
//	inj, _ := chaos.New(chaos.WithClock(fc))
//	...
//	fc.Advance(10 * time.Minute) // the fault's TTL passes
//
// A Clock of your own works too: implement Now and NewTimer (a Timer has
// C and Stop, like *time.Timer).
package clock
