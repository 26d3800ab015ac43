package main

import (
	"fmt"
	"net"
	"strings"

	"sandbox/proxy"
	"sandbox/sandbox"
)

// shownNames is how many names a hint line lists before "…".
const shownNames = 5

// networkHints are the lines printed after a run that the network turned
// something away: the names looked up in mode none, what the proxy denied;
// each says how to allow them.
func networkHints(res *sandbox.Result) []string {
	var lines []string
	if n := len(res.NetworkLookups); n > 0 {
		noun := "names were"
		if n == 1 {
			noun = "name was"
		}
		lines = append(lines, fmt.Sprintf("the network is off (mode none); %d %s looked up: %s — to allow them: [network] mode = \"proxy\", allow = %s (or --allow NAME)",
			n, noun, shortList(res.NetworkLookups), tomlList(res.NetworkLookups)))
	}
	if line := proxy.Summary(res.NetworkDenied); line != "" {
		var hosts []string
		seen := map[string]bool{}
		for _, d := range res.NetworkDenied {
			if h := deniedHost(d.Target); h != "" && !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
		if len(hosts) > 0 {
			line += " — to allow them: [network] allow = " + tomlList(hosts) + " (or --allow NAME)"
		}
		lines = append(lines, "network: "+line)
	}
	return lines
}

// deniedHost is the host of a denial's target ("a.example:443", "a.example:443
// (SNI, via b.example)"); "" for one that allowing cannot help (a name that
// resolves to a local address).
func deniedHost(target string) string {
	if strings.Contains(target, "local address") {
		return ""
	}
	hostport, _, _ := strings.Cut(target, " ")
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func shortList(names []string) string {
	if len(names) <= shownNames {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:shownNames], ", ") + ", …"
}

func tomlList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
