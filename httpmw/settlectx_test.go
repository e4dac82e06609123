package httpmw

import (
	"context"
	"errors"
	"testing"
	"time"
)

type ctxKey struct{}

func TestSettleCtx(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
	cancel()
	c := newSettleCtx(parent, time.Hour)
	defer c.stop()
	if c.Err() != nil || c.Value(ctxKey{}) != "v" {
		t.Fatalf("err %v value %v: the parent's cancellation leaked", c.Err(), c.Value(ctxKey{}))
	}
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("deadline %v %v", d, ok)
	}
	select {
	case <-c.Done():
		t.Fatal("done before the deadline")
	default:
	}
	expired := newSettleCtx(context.Background(), -time.Second)
	defer expired.stop()
	if !errors.Is(expired.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v", expired.Err())
	}
	<-expired.Done()
	child, cancelChild := context.WithCancel(newSettleCtx(context.Background(), -time.Second))
	defer cancelChild()
	<-child.Done() // a derived context sees the deadline too
}
