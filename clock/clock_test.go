package clock

import (
	"testing"
	"time"
)

func TestFakeAdvanceFiresDueTimers(t *testing.T) {
	start := time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC)
	f := NewFake(start)
	t1 := f.NewTimer(time.Second)
	t2 := f.NewTimer(time.Minute)
	if got := f.Timers(); got != 2 {
		t.Fatalf("Timers() = %d, want 2", got)
	}
	f.Advance(999 * time.Millisecond)
	select {
	case <-t1.C():
		t.Fatal("t1 fired early")
	default:
	}
	f.Advance(time.Millisecond)
	select {
	case at := <-t1.C():
		if want := start.Add(time.Second); !at.Equal(want) {
			t.Fatalf("t1 fired at %v, want %v", at, want)
		}
	default:
		t.Fatal("t1 did not fire at its deadline")
	}
	if t1.Stop() {
		t.Fatal("Stop on a fired timer reported true")
	}
	if !t2.Stop() {
		t.Fatal("Stop on a pending timer reported false")
	}
	f.Advance(time.Hour)
	select {
	case <-t2.C():
		t.Fatal("stopped timer fired")
	default:
	}
	if got := f.Timers(); got != 0 {
		t.Fatalf("Timers() = %d, want 0", got)
	}
	if got, want := f.Now(), start.Add(time.Hour+time.Second); !got.Equal(want) {
		t.Fatalf("Now() = %v, want %v", got, want)
	}
}

func TestFakeZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	select {
	case <-f.NewTimer(0).C():
	default:
		t.Fatal("timer with d=0 did not fire at once")
	}
}

func TestFakeSetBackwardsThenForward(t *testing.T) {
	f := NewFake(time.Unix(100, 0))
	tm := f.NewTimer(10 * time.Second) // due at 110
	f.Set(time.Unix(50, 0))
	select {
	case <-tm.C():
		t.Fatal("timer fired when time moved back")
	default:
	}
	f.Set(time.Unix(110, 0))
	select {
	case <-tm.C():
	default:
		t.Fatal("timer did not fire at its deadline after Set")
	}
}

func TestRealAndOr(t *testing.T) {
	if Or(nil) != Real {
		t.Fatal("Or(nil) is not Real")
	}
	f := NewFake(time.Unix(0, 0))
	if Or(f) != Clock(f) {
		t.Fatal("Or(f) is not f")
	}
	tm := Real.NewTimer(time.Millisecond)
	<-tm.C()
	if Real.Now().IsZero() {
		t.Fatal("Real.Now() is zero")
	}
}
