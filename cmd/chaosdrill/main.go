package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/llmops-go/llmops/internal/drill"
)

// Exit codes.
const (
	exitOK          = 0   // the drill ran; the SLO, if any, was met
	exitSLO         = 1   // the drill ran; the success ratio is below -slo
	exitUsage       = 2   // bad flags or configuration; nothing was sent
	exitDrill       = 3   // the drill failed: unreachable, admin API refusal, fault not cleared, ...
	exitInterrupted = 130 // Ctrl-C or SIGTERM; the fault was cleared and the partial report printed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// run is the whole command: parse, drill, report; it returns the exit code.
// Progress and errors go to stderr, the report to stdout. On a terminal,
// progress is one line rewritten in place.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, terminal bool) int {
	o, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaosdrill: %v\nrun 'chaosdrill -h' for usage\n", err)
		return exitUsage
	}

	printed := false
	if o.progress > 0 {
		o.cfg.Progress = func(s drill.Snapshot) {
			printed = true
			if terminal {
				fmt.Fprintf(stderr, "\r%s\x1b[K", s)
			} else {
				fmt.Fprintf(stderr, "chaosdrill: %s\n", s)
			}
		}
	}
	rep, err := drill.Run(ctx, o.cfg)
	if printed && terminal {
		fmt.Fprintln(stderr)
	}

	// The report is printed whenever load was sent, so an interrupted or
	// failed drill still shows what happened.
	if err == nil || rep.Sent+rep.Dropped > 0 {
		if perr := printReport(stdout, &rep, o.json); perr != nil {
			fmt.Fprintf(stderr, "chaosdrill: writing the report: %v\n", perr)
			return exitDrill
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaosdrill: %v\n", err)
		switch {
		case errors.Is(err, drill.ErrConfig):
			return exitUsage
		case errors.Is(err, drill.ErrClearFailed):
			return exitDrill
		case errors.Is(err, drill.ErrInterrupted):
			return exitInterrupted
		}
		return exitDrill
	}
	if o.slo > 0 && !rep.MeetsSLO(o.slo) {
		fmt.Fprintf(stderr, "chaosdrill: SLO missed: success ratio %.2f%% is below %.2f%% (%d of %d completed requests were 2xx)\n",
			100*rep.SuccessRatio, 100*o.slo, rep.Successes, rep.Completed)
		return exitSLO
	}
	return exitOK
}

func printReport(w io.Writer, rep *drill.Report, asJSON bool) error {
	if !asJSON {
		return rep.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
