package redistest

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if reply, err := s.Do("SET", "k", "v"); err != nil || reply != "+OK" {
		t.Fatalf("SET: %q, %v", reply, err)
	}
	if reply, err := s.Do("CONFIG", "GET", "appendonly"); err != nil || reply != "*2" {
		t.Fatalf("CONFIG GET: %q, %v", reply, err)
	}
	s.Stop()
	if s.Running() {
		t.Fatal("Running after Stop")
	}
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("PING succeeded on a stopped server")
	}
	s.Stop() // idempotent
	if err := s.Restart(); err != nil {
		t.Fatalf("Restart: %v\n%s", err, s.Logs())
	}
	if reply, err := s.Do("EXISTS", "k"); err != nil || reply != ":0" {
		t.Fatalf("after restart EXISTS k = %q, %v; want :0 (nothing kept on disk)", reply, err)
	}
}

func TestSharedIsOnePerBinary(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Fatal("Shared returned two servers")
	}
	if reply, err := a.Do("PING"); err != nil || reply != "+PONG" {
		t.Fatalf("PING: %q, %v", reply, err)
	}
	a.Stop()
	if c := Shared(t); !c.Running() {
		t.Fatal("Shared did not restart a stopped shared server")
	}
}

func TestTwoServersAreIsolated(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on one address %s", a.Addr())
	}
	if _, err := a.Do("SET", "only-a", "1"); err != nil {
		t.Fatal(err)
	}
	if reply, _ := b.Do("EXISTS", "only-a"); reply != ":0" {
		t.Fatalf("key leaked between servers: %q", reply)
	}
}
