// Package redistest starts private redis-server processes for tests.
//
// Each server listens on a free loopback port, keeps nothing on disk
// (--save "" --appendonly no) and is stopped when the test (Start) or the
// test binary (Shared with Main) ends. Servers also receive SIGKILL if the
// test binary dies, so no path leaves a process behind.
//
// When redis-server is not on PATH the calling test is skipped with a loud
// message, unless LLMOPS_REQUIRE_REDIS=1, in which case it fails.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing redis-server
// from a skip into a failure.
const RequireEnv = "LLMOPS_REQUIRE_REDIS"

// Server is one private redis-server process.
//
// Its methods are safe for concurrent use by multiple goroutines.
type Server struct {
	bin  string
	port int
	addr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	logs *bytes.Buffer
}

// Start starts a private server for this test and stops it when the test
// ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(binary(tb))
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Shared returns the test binary's shared server, starting it on first use.
// It lives until Main returns; packages that use Shared call Main from
// their TestMain.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	bin := binary(tb)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = start(bin)
	}
	if sharedErr != nil {
		tb.Fatalf("redistest: %v", sharedErr)
	}
	if !shared.Running() {
		if err := shared.Restart(); err != nil {
			tb.Fatalf("redistest: shared server was stopped and cannot restart: %v", err)
		}
	}
	return shared
}

// Main runs the tests and then stops the shared server, if one was started.
// Use it as: func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.Stop()
	}
	sharedMu.Unlock()
	return code
}

// Addr returns the server's host:port on loopback.
func (s *Server) Addr() string { return s.addr }

// URL returns a redis:// URL for the server.
func (s *Server) URL() string { return "redis://" + s.addr }

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Stop stops the process and waits for it to exit. Stopping a stopped
// server does nothing. Clients see connection errors until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Restart starts the process again on the same port, with an empty
// dataset (nothing is kept on disk). It stops the process first if it is
// running.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	return s.runLocked()
}

// Logs returns what the server has printed, for failure messages.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		return ""
	}
	return s.logs.String()
}

// Do sends one command over a fresh connection and returns the first line
// of the reply (for example "+PONG" or ":1"). It is for test set-up and
// fault injection such as SCRIPT FLUSH, not for the code under test.
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight([]byte(line), "\r\n")), nil
}

func binary(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err == nil {
		return bin
	}
	if os.Getenv(RequireEnv) == "1" {
		tb.Fatalf("redistest: redis-server not found on PATH and %s=1: install it (Debian: apt-get install redis-server)", RequireEnv)
	}
	tb.Skipf("redistest: SKIPPING %s: redis-server not found on PATH (install it, or set %s=1 to make this a failure)", tb.Name(), RequireEnv)
	return ""
}

func start(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, port: port, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A port picked by the kernel can be taken by someone else between
	// closing the probe listener and redis binding it; try a few ports.
	for i := 0; ; i++ {
		err = s.runLocked()
		if err == nil || i == 4 {
			return s, err
		}
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) runLocked() error {
	logs := new(bytes.Buffer)
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "yes",
		"--dir", os.TempDir(),
		"--loglevel", "warning",
	)
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done, s.logs = cmd, done, logs

	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := s.Do("PING")
		if err == nil && reply == "+PONG" {
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("redis-server on port %d did not answer PING within 10s (last error: %v): %s", s.port, err, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}
