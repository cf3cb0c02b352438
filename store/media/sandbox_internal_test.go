package media

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// TestSandboxLimits runs cat in the sandbox, as ffmpeg runs, and reads
// back its own limits, priority and environment from /proc.
func TestSandboxLimits(t *testing.T) {
	for _, p := range []string{"nice", "prlimit", "cat"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("no %s", p)
		}
	}
	tool, err := Find(Config{Dir: "/usr/bin", Memory: 1 << 30})
	if err != nil {
		t.Skip(err)
	}
	cat, _ := exec.LookPath("cat")
	ctx := context.Background()
	limits, err := tool.run(ctx, t.TempDir(), cat, 0, 12345678, "/proc/self/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Max address space         1073741824", "Max file size             12345678", "Max core file size        0"} {
		if !strings.Contains(strings.Join(strings.Fields(string(limits)), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("limits lack %q:\n%s", want, limits)
		}
	}
	stat, err := tool.run(ctx, t.TempDir(), cat, 0, 1<<20, "/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Field 19 is the nice value; the command name (2) has no spaces.
	if f := strings.Fields(string(stat)); len(f) < 19 || f[18] != "19" {
		t.Errorf("nice=%v, want 19", f[18])
	}
	env, err := tool.run(ctx, t.TempDir(), cat, 0, 1<<20, "/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimRight(string(env), "\x00"), "\x00"); len(got) != 2 {
		t.Errorf("environment %q, want only PATH and LC_ALL", got)
	}
}
