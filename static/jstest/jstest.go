// Package jstest runs uplink's browser scripts under Node for Go tests:
// the uploader's Node tests (node --test), and scripts that feed the
// uploader's modules the inputs of a Go test, so that the test can check
// that the browser and the server answer alike.
//
// Node is only needed by the tests, never by uplink. Without it a test
// skips, unless CI=true, where .ci/run installs it and its absence fails.
package jstest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Dir returns the absolute path of static/js, where the scripts and their
// Node tests are.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "js")
}

// Node returns the path of the node binary. It skips the test when there
// is none, or fails it when CI=true.
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the uploader's script tests need Node.js (apt-get install nodejs): %v", err)
		}
		t.Skipf("no node in PATH (%v): the uploader's script tests run in CI, where .ci/run installs Node.js", err)
	}
	return p
}

// Run runs node with args in static/js and returns its standard output.
// It fails the test, with both outputs, when node exits with an error.
func Run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Node(t), args...)
	cmd.Dir = Dir()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n--- stdout\n%s\n--- stderr\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// Eval runs an ES module script in static/js, so that it can import the
// scripts as "./name.js". The script reads in, marshalled as JSON, from
// its standard input, and writes its answer as JSON to its standard
// output, which Eval unmarshals into out.
func Eval(t testing.TB, script string, in, out any) {
	t.Helper()
	input, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	stdout := Run(t, input, "--input-type=module", "--eval", script)
	if err := json.Unmarshal(stdout, out); err != nil {
		t.Fatalf("node's answer is not the JSON expected: %v\n%s", err, stdout)
	}
}

// ReadStdin is JavaScript for an Eval script: it defines an async
// function input() that returns the JSON on standard input, parsed.
const ReadStdin = `async function input () {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}
`
