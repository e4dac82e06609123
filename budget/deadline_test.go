package budget

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func TestDeadlinesBackgroundShared(t *testing.T) {
	d := newDeadlines(time.Second)
	parent := context.WithValue(context.Background(), ctxKey{}, "v")
	start := time.Now()
	c1, cancel1 := d.bound(parent)
	defer cancel1()
	c2, cancel2 := d.bound(context.WithoutCancel(parent))
	defer cancel2()
	end := time.Now()
	for i, c := range []context.Context{c1, c2} {
		dl, ok := c.Deadline()
		if !ok {
			t.Fatalf("ctx %d: no deadline", i)
		}
		if dl.After(end.Add(time.Second)) || !dl.After(start.Add(time.Second-time.Second/16)) {
			t.Errorf("ctx %d: deadline %v not in (start+15/16 s, end+1s] (start %v)", i, dl, start)
		}
		if got := c.Value(ctxKey{}); got != "v" {
			t.Errorf("ctx %d: value %v, want the caller's", i, got)
		}
		if c.Done() == nil || c.Err() != nil {
			t.Errorf("ctx %d: Done %v Err %v", i, c.Done(), c.Err())
		}
	}
	if c1.(*boundContext).s != c2.(*boundContext).s {
		t.Error("two calls started together do not share a deadline")
	}
}

func TestDeadlinesExpire(t *testing.T) {
	d := newDeadlines(20 * time.Millisecond)
	c, cancel := d.bound(context.Background())
	defer cancel()
	child, cancelChild := context.WithCancel(c) // follows c through AfterFunc
	defer cancelChild()
	for _, x := range []context.Context{c, child} {
		select {
		case <-x.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("not done long after the deadline")
		}
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(c), context.DeadlineExceeded) {
		t.Errorf("Err %v Cause %v, want DeadlineExceeded", c.Err(), context.Cause(c))
	}
	if !errors.Is(child.Err(), context.Canceled) && !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("child Err %v", child.Err())
	}
	// A call after the shared deadline passed gets a fresh one.
	c2, cancel2 := d.bound(context.Background())
	defer cancel2()
	if c2.Err() != nil {
		t.Errorf("a new call got an expired context: %v", c2.Err())
	}
}

func TestDeadlinesRenewal(t *testing.T) {
	d := newDeadlines(time.Second)
	now := time.Now()
	s1 := d.shared(now)
	if s2 := d.shared(now.Add(d.slack - time.Nanosecond)); s2 != s1 {
		t.Error("a call within the slack did not share the deadline")
	}
	s3 := d.shared(now.Add(d.slack))
	if s3 == s1 {
		t.Error("a call one slack later shared a deadline more than the timeout-slack away")
	}
	if got := s3.at.Sub(now.Add(d.slack)); got != time.Second {
		t.Errorf("new deadline %v after the call, want 1s", got)
	}
	for _, s := range []*sharedDeadline{s1, s3} {
		s.cancel()
	}
}

func TestDeadlinesCancellableParent(t *testing.T) {
	d := newDeadlines(time.Hour)
	parent, cancelParent := context.WithCancel(context.Background())
	c, cancel := d.bound(parent)
	defer cancel()
	if _, ok := c.(*boundContext); ok {
		t.Fatal("a cancellable parent got a shared deadline")
	}
	if dl, ok := c.Deadline(); !ok || time.Until(dl) > time.Hour {
		t.Errorf("deadline %v %v", dl, ok)
	}
	cancelParent()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("parent's cancellation did not reach the store context")
	}
}

func TestDeadlinesSoonerParent(t *testing.T) {
	d := newDeadlines(time.Hour)
	parent, cancelParent := context.WithTimeout(context.Background(), time.Minute)
	defer cancelParent()
	c, cancel := d.bound(parent)
	defer cancel()
	if c != parent {
		t.Error("a parent with a sooner deadline was wrapped")
	}
}
