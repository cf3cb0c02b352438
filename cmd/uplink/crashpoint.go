package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/uplink-video/uplink/store/ingest"
)

// crashpointEnv names a point at which "uplink serve" kills itself. It
// exists only for the crash tests (crash_test.go), which need to stop the
// server at a point no outside signal can hit reliably; it is not a
// setting, is not listed in --help, and must never be set in production.
// main is the only place that reads it, through the getenv handed down.
const crashpointEnv = "UPLINK_TEST_CRASHPOINT"

// crashHooks returns the ingest hooks for the crash point named by
// UPLINK_TEST_CRASHPOINT: none when it is empty, and an error for a name
// it does not know, so that a typo in a test fails loudly.
//
//   - after-fsync: SIGKILL the process the first time a piece's bytes are
//     durable but not yet recorded (between its fsync and its commit).
//   - before-finish: SIGKILL it the first time an upload is recorded
//     complete and its source is not yet assembled.
//   - either with :N: the same, the Nth time.
func crashHooks(point string, log *slog.Logger) (ingest.Hooks, error) {
	if point == "" {
		return ingest.Hooks{}, nil
	}
	name, nth, hasN := strings.Cut(point, ":")
	n, err := strconv.Atoi(nth)
	if !hasN {
		n, err = 1, nil
	}
	if name != "after-fsync" && name != "before-finish" || err != nil || n < 1 {
		return ingest.Hooks{}, fmt.Errorf("unknown $%s %q: want after-fsync or before-finish, with :N or not", crashpointEnv, point)
	}
	log.Warn("test crash point armed: the server will kill itself", "env", crashpointEnv, "point", point)
	var calls atomic.Int64
	hook := func() {
		if calls.Add(1) == int64(n) {
			killSelf(log, point)
		}
	}
	if name == "before-finish" {
		return ingest.Hooks{BeforeFinish: hook}, nil
	}
	return ingest.Hooks{AfterSync: hook}, nil
}

// killSelf ends the process the way a crash or the OOM killer does: no
// deferred function runs, no file is closed, no buffer is flushed.
func killSelf(log *slog.Logger, point string) {
	log.Warn("test crash point reached: killing the process", "point", point)
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // SIGKILL is not delivered synchronously; never go on.
}
