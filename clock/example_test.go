package clock_test

import (
	"fmt"
	"time"

	"github.com/llmops-go/llmops/clock"
)

// A Fake moves only when told to, and fires the timers that come due.
func ExampleFake() {
	fc := clock.NewFake(time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC))
	t := fc.NewTimer(90 * time.Second)

	fc.Advance(time.Minute)
	select {
	case <-t.C():
		fmt.Println("fired early")
	default:
		fmt.Println("pending at", fc.Now().Format(time.RFC3339))
	}

	fc.Advance(30 * time.Second)
	fmt.Println("fired at", (<-t.C()).Format(time.RFC3339))
	fmt.Println("live timers:", fc.Timers())
	// Output:
	// pending at 2026-03-01T00:00:00Z
	// fired at 2026-03-01T00:00:30Z
	// live timers: 0
}

// Or picks the wall clock when no clock was configured.
func ExampleOr() {
	var configured clock.Clock // nil: the option was not given
	c := clock.Or(configured)
	fmt.Println(c == clock.Real)
	// Output: true
}
