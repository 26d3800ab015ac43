package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for the network tests. Servers live as long as the
// script; every address is on this machine's loopback, and the suite runs
// in a network namespace with no route out (scripts/as-test-user).

// serve-tcp ADDR TEXT: a TCP server answering TEXT to every connection.
func cmdServeTCP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: serve-tcp ADDR TEXT")
	}
	l, err := net.Listen("tcp", args[0])
	ts.Check(err)
	ts.Defer(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, args[1]+"\n")
			c.Close()
		}
	}()
}

// serve-http ADDR TEXT: an HTTP server answering "TEXT HOST".
func cmdServeHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: serve-http ADDR TEXT")
	}
	l, err := net.Listen("tcp", args[0])
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", args[1], r.Host)
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
}

// dial tcp|udp ADDR WANT: connect (retrying for up to 30 s, while a
// sandbox starts its server), send a line, and expect WANT in the answer.
func cmdDial(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: dial tcp|udp ADDR WANT")
	}
	deadline := time.Now().Add(patience)
	var last string
	for time.Now().Before(deadline) {
		got, err := exchange(args[0], args[1])
		if err == nil && strings.Contains(got, args[2]) {
			if neg {
				ts.Fatalf("dial %s %s: got %q", args[0], args[1], got)
			}
			return
		}
		last = fmt.Sprint(got, err)
		if neg {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("dial %s %s: no %q within %v (last: %s)", args[0], args[1], args[2], patience, last)
}

func exchange(proto, addr string) (string, error) {
	c, err := net.DialTimeout(proto, addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return "", err
	}
	if proto == "udp" {
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == io.EOF {
		err = nil
	}
	return line, err
}
