package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"sandbox/internal/testenv"
)

// In mode none a lookup fails at once at the recording resolver on the
// sandbox's loopback, and the run ends with one line naming what was
// looked up and how to allow it; nothing leaves through the test's own
// network namespace (its IP and UDP output counters stay put).
func TestLookupHintModeNone(t *testing.T) {
	p := newProject(t)
	testenv.Require(t, testenv.IsolatedNet)
	before := netCounters(t)
	var stderr bytes.Buffer
	cmd := p.command("run", "--", "sh", "-c", "getent hosts a.example; getent ahosts b.example.org; getent hosts a.example; echo done")
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	took := time.Since(start)
	if err != nil || strings.TrimSpace(string(out)) != "done" {
		t.Fatalf("run: %v, stdout %q\n%s", err, out, stderr.String())
	}
	want := `sandbox: the network is off (mode none); 2 names were looked up: a.example, b.example.org — to allow them: [network] mode = "proxy", allow = ["a.example", "b.example.org"] (or --allow NAME)`
	if !strings.Contains(stderr.String(), want+"\n") {
		t.Errorf("stderr = %q, want the line %q", stderr.String(), want)
	}
	if took > 5*time.Second {
		t.Errorf("three failing lookups took %v; they should fail at once", took)
	}
	if after := netCounters(t); after != before {
		t.Errorf("the test's network namespace sent packets during the run: %s before, %s after", before, after)
	}
	// A run that looks nothing up prints no such line.
	stderr.Reset()
	cmd = p.command("run", "--", "true")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || strings.Contains(stderr.String(), "looked up") {
		t.Errorf("run true: %v, stderr %q", err, stderr.String())
	}
}

// netCounters are this network namespace's IPv4 packets sent and UDP
// datagrams sent (/proc/net/snmp): loopback included, which the parent's
// own traffic would use.
func netCounters(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j := range names {
			if j < len(values) && (names[0] == "Ip:" && names[j] == "OutRequests" || names[0] == "Udp:" && names[j] == "OutDatagrams") {
				out = append(out, names[0]+names[j]+"="+values[j])
			}
		}
	}
	return strings.Join(out, " ")
}
