// Command vulncheck reads govulncheck's JSON output (-format json) on
// standard input and decides whether CI passes: it fails on every
// vulnerability that our code calls, and on every one in a module we
// require that has a fixed version to upgrade to, unless the
// vulnerability is listed, with a reason, in the file named by its
// argument. It prints every finding, accepted or not.
//
//	go run .ci/vulncheck.go .ci/govulncheck-accepted < govulncheck.json
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// message is one JSON value of govulncheck's output stream.
type message struct {
	OSV *struct {
		ID      string `json:"id"`
		Summary string `json:"summary"`
	} `json:"osv"`
	Finding *struct {
		OSV          string `json:"osv"`
		FixedVersion string `json:"fixed_version"`
		Trace        []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

// vuln is what the findings of one vulnerability add up to.
type vuln struct {
	id, summary, module, version, fixed string
	level                               int // 0 required, 1 imported, 2 called.
}

var levels = []string{"required module", "imported package", "called"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run .ci/vulncheck.go ACCEPTED_FILE < govulncheck.json")
		os.Exit(2)
	}
	accepted, err := readAccepted(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(2)
	}
	vulns, err := readFindings(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vulncheck:", err)
		os.Exit(2)
	}
	failed := 0
	for _, v := range vulns {
		reason, ok := accepted[v.id]
		blocking := v.level == 2 || v.module != "stdlib" && v.fixed != ""
		verdict := "ok, not reachable"
		switch {
		case blocking && ok:
			verdict = "accepted: " + reason
		case blocking:
			verdict = "FAIL: upgrade to the fixed version, or list it in " + os.Args[1] + " with a reason"
			failed++
		}
		fixed := v.fixed
		if fixed == "" {
			fixed = "none"
		}
		fmt.Printf("%s (%s %s, fixed in %s; %s): %s\n    %s\n", v.id, v.module, v.version, fixed, levels[v.level], v.summary, verdict)
	}
	for id := range accepted {
		if !slices.ContainsFunc(vulns, func(v vuln) bool { return v.id == id }) {
			fmt.Printf("%s is accepted in %s but no longer found: remove it from the list\n", id, os.Args[1])
		}
	}
	fmt.Printf("govulncheck: %d vulnerabilities found, %d blocking and not accepted\n", len(vulns), failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// readAccepted reads "ID reason..." lines; blank lines and lines starting
// with # are skipped.
func readAccepted(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	accepted := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, _ := strings.Cut(line, " ")
		if reason = strings.TrimSpace(reason); reason == "" {
			return nil, fmt.Errorf("%s: %s is accepted without a reason", path, id)
		}
		accepted[id] = reason
	}
	return accepted, sc.Err()
}

// readFindings reads govulncheck's stream and returns each vulnerability
// at the deepest level any of its findings reached.
func readFindings(r io.Reader) ([]vuln, error) {
	dec := json.NewDecoder(r)
	summaries := map[string]string{}
	byID := map[string]*vuln{}
	var order []string
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading govulncheck's output: %w", err)
		}
		if m.OSV != nil {
			summaries[m.OSV.ID] = m.OSV.Summary
		}
		f := m.Finding
		if f == nil || len(f.Trace) == 0 {
			continue
		}
		level := 0
		switch top := f.Trace[0]; {
		case top.Function != "":
			level = 2
		case top.Package != "":
			level = 1
		}
		v, ok := byID[f.OSV]
		if !ok {
			v = &vuln{id: f.OSV, module: f.Trace[0].Module, version: f.Trace[0].Version, fixed: f.FixedVersion}
			byID[f.OSV] = v
			order = append(order, f.OSV)
		}
		v.level = max(v.level, level)
	}
	var vulns []vuln
	for _, id := range order {
		v := *byID[id]
		v.summary = summaries[id]
		vulns = append(vulns, v)
	}
	return vulns, nil
}
