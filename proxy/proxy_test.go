package proxy

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	p := Policy{Allow: []string{"packages.example.com", "*.example.org", "10.1.2.3"}}
	for host, want := range map[string]bool{
		"packages.example.com": true, "PACKAGES.example.com.": true, "evil.packages.example.com": false,
		"registry.example.org": true, "a.b.example.org": true, "example.org": false, "evilexample.org": false,
		"10.1.2.3": true, "10.1.2.4": false, "": false,
	} {
		if got := p.Allowed(host); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", host, got, want)
		}
	}
}

// echoServer listens on ip (a loopback address) and echoes.
func echoServer(t *testing.T, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func startProxy(t *testing.T, p Policy) (*Server, string, string) {
	t.Helper()
	s := New(p)
	h, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	so, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeHTTP(h)
	go s.ServeSOCKS(so)
	t.Cleanup(func() { h.Close(); so.Close(); s.Close() })
	return s, h.Addr().String(), so.Addr().String()
}

func connect(t *testing.T, proxyAddr, target string) (net.Conn, *http.Response, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp, br
}

func TestHTTPConnect(t *testing.T) {
	good := echoServer(t, "127.0.0.2")
	evil := echoServer(t, "127.0.0.3")
	s, httpAddr, _ := startProxy(t, Policy{AllowLocal: true, Allow: []string{"good.test"}, Hosts: map[string]string{"good.test": "127.0.0.2", "evil.test": "127.0.0.3"}})

	c, resp, br := connect(t, httpAddr, "good.test:"+good)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT good.test: %s", resp.Status)
	}
	io.WriteString(c, "ping\n")
	if line, _ := br.ReadString('\n'); line != "ping\n" {
		t.Errorf("tunnel echoed %q", line)
	}
	c.Close()

	for i := 0; i < 2; i++ {
		c, resp, br = connect(t, httpAddr, "evil.test:"+evil)
		body, _ := io.ReadAll(br)
		if resp.StatusCode != 403 || !strings.Contains(string(body), "evil.test:"+evil+" denied") {
			t.Errorf("CONNECT evil.test: %s %q, want 403 with the reason", resp.Status, body)
		}
		c.Close()
	}
	c, resp, _ = connect(t, httpAddr, "127.0.0.3:"+evil)
	if resp.StatusCode != 403 {
		t.Errorf("CONNECT to an IP address: %s, want 403", resp.Status)
	}
	c.Close()
	got := Summary(s.Denied())
	want := "denied 3 connections: evil.test:" + evil + " (×2), 127.0.0.3:" + evil
	if got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestSNIMustMatch(t *testing.T) {
	good := echoServer(t, "127.0.0.2")
	s, httpAddr, _ := startProxy(t, Policy{AllowLocal: true, Allow: []string{"good.test"}, Hosts: map[string]string{"good.test": "127.0.0.2"}})
	// A TLS session to evil.test inside a tunnel opened for good.test.
	c, resp, _ := connect(t, httpAddr, "good.test:"+good)
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	tc := tls.Client(c, &tls.Config{ServerName: "evil.test", InsecureSkipVerify: true})
	if err := tc.Handshake(); err == nil {
		t.Error("the TLS handshake through a mismatched tunnel succeeded")
	}
	c.Close()
	if got := Summary(s.Denied()); !strings.Contains(got, "evil.test:"+good+" (SNI, via good.test)") {
		t.Errorf("denials = %q, want the SNI mismatch", got)
	}
	// The matching name goes through: the echo server returns the hello.
	c, _, br := connect(t, httpAddr, "good.test:"+good)
	defer c.Close()
	hello := clientHello(t, "good.test")
	c.Write(hello)
	echo := make([]byte, len(hello))
	if _, err := io.ReadFull(br, echo); err != nil || string(echo) != string(hello) {
		t.Errorf("a matching ClientHello was not relayed: %v", err)
	}
}

// clientHello captures the ClientHello crypto/tls sends for name.
func clientHello(t *testing.T, name string) []byte {
	a, b := net.Pipe()
	go tls.Client(a, &tls.Config{ServerName: name}).Handshake()
	hdr := make([]byte, 5)
	io.ReadFull(b, hdr)
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	io.ReadFull(b, body)
	a.Close()
	b.Close()
	rec := append(hdr, body...)
	if sni, err := clientHelloSNI(rec); err != nil || sni != name {
		t.Fatalf("clientHelloSNI = %q, %v, want %q", sni, err, name)
	}
	return rec
}

func TestSOCKS5(t *testing.T) {
	good := echoServer(t, "127.0.0.2")
	s, _, socksAddr := startProxy(t, Policy{AllowLocal: true, Allow: []string{"*.good.test"}, Hosts: map[string]string{"api.good.test": "127.0.0.2"}})
	dial := func(host string) (net.Conn, byte) {
		c, err := net.Dial("tcp", socksAddr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		p, _ := strconv.Atoi(good)
		req := []byte{5, 1, 0, 5, 1, 0, 3, byte(len(host))}
		req = append(req, host...)
		req = binary.BigEndian.AppendUint16(req, uint16(p))
		c.Write(req)
		resp := make([]byte, 12)
		if _, err := io.ReadFull(c, resp); err != nil {
			t.Fatal(err)
		}
		return c, resp[3]
	}
	c, code := dial("api.good.test")
	if code != 0 {
		t.Fatalf("SOCKS5 CONNECT api.good.test: reply %d", code)
	}
	io.WriteString(c, "hi\n")
	if line, _ := bufio.NewReader(c).ReadString('\n'); line != "hi\n" {
		t.Errorf("echo = %q", line)
	}
	c.Close()
	c, code = dial("evil.test")
	c.Close()
	if code != 2 {
		t.Errorf("SOCKS5 CONNECT evil.test: reply %d, want 2 (not allowed by ruleset)", code)
	}
	if got := Summary(s.Denied()); got != "denied 1 connection: evil.test:"+good {
		t.Errorf("Summary = %q", got)
	}
}

func TestPlainHTTP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.Host) }))
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_, httpAddr, _ := startProxy(t, Policy{AllowLocal: true, Allow: []string{"good.test"}, Hosts: map[string]string{"good.test": "127.0.0.2"}})
	proxyURL, _ := http.NewRequest("GET", "http://"+httpAddr, nil)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL.URL)}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://good.test:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello good.test:"+port {
		t.Errorf("body = %q", body)
	}
	resp, err = client.Get("http://evil.test:" + port + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("evil.test: %s, want 403", resp.Status)
	}
}

// An allowed name that DNS resolves to this machine is refused: the
// sandbox must not reach the host's loopback through the proxy. Names in
// Hosts are the user's own configuration and stay trusted.
func TestNoRebindingToLoopback(t *testing.T) {
	port := echoServer(t, "127.0.0.1")
	s, httpAddr, _ := startProxy(t, Policy{Allow: []string{"localhost"}})
	c, resp, br := connect(t, httpAddr, "localhost:"+port)
	body, _ := io.ReadAll(br)
	c.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), "resolves only to local addresses") {
		t.Errorf("CONNECT localhost: %s %q, want 403", resp.Status, body)
	}
	if got := Summary(s.Denied()); got != "denied 1 connection: localhost:"+port+" (resolves to a local address)" {
		t.Errorf("Summary = %q", got)
	}
}

// TestServerSpeaksFirst tunnels a protocol whose server talks before the
// client does (SMTP, IMAP, SSH, MySQL): the greeting must come through
// CONNECT and SOCKS5 without the client sending anything first.
func TestServerSpeaksFirst(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 mail.good.test ESMTP\r\n")
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "250 got "+line)
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_, httpAddr, socksAddr := startProxy(t, Policy{AllowLocal: true, Allow: []string{"good.test"}, Hosts: map[string]string{"good.test": "127.0.0.2"}})

	check := func(name string, c net.Conn, br *bufio.Reader) {
		t.Helper()
		defer c.Close()
		if line, err := br.ReadString('\n'); line != "220 mail.good.test ESMTP\r\n" {
			t.Fatalf("%s: greeting %q, %v; want the server's greeting before the client speaks", name, line, err)
		}
		io.WriteString(c, "EHLO client.test\r\n")
		if line, _ := br.ReadString('\n'); line != "250 got EHLO client.test\r\n" {
			t.Errorf("%s: reply %q", name, line)
		}
	}
	c, resp, br := connect(t, httpAddr, "good.test:"+port)
	if resp.StatusCode != 200 {
		t.Fatalf("CONNECT good.test: %s", resp.Status)
	}
	check("CONNECT", c, br)

	c, err = net.Dial("tcp", socksAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	p, _ := strconv.Atoi(port)
	req := append([]byte{5, 1, 0, 5, 1, 0, 3, byte(len("good.test"))}, "good.test"...)
	c.Write(binary.BigEndian.AppendUint16(req, uint16(p)))
	br = bufio.NewReader(c)
	reply := make([]byte, 12)
	if _, err := io.ReadFull(br, reply); err != nil || reply[3] != 0 {
		t.Fatalf("SOCKS5 CONNECT good.test: reply %v, %v", reply, err)
	}
	check("SOCKS5", c, br)
}

// TestLocalNeedsGrant: without AllowLocal (allow_host_loopback) neither an
// IP literal in Allow nor a [network.hosts] entry reaches a service on
// the host's loopback (review 13, #4).
func TestLocalNeedsGrant(t *testing.T) {
	canary := echoServer(t, "127.0.0.1")
	_, httpAddr, _ := startProxy(t, Policy{Allow: []string{"127.0.0.1", "db.test"}, Hosts: map[string]string{"db.test": "127.0.0.1"}})
	for _, target := range []string{"127.0.0.1:" + canary, "db.test:" + canary} {
		c, resp, br := connect(t, httpAddr, target)
		body, _ := io.ReadAll(br)
		c.Close()
		if resp.StatusCode != 403 || !strings.Contains(string(body), "local addresses") {
			t.Errorf("CONNECT %s: %s %q, want 403", target, resp.Status, body)
		}
	}
	_, httpAddr, _ = startProxy(t, Policy{AllowLocal: true, Allow: []string{"127.0.0.1"}})
	c, resp, _ := connect(t, httpAddr, "127.0.0.1:"+canary)
	c.Close()
	if resp.StatusCode != 200 {
		t.Errorf("CONNECT with AllowLocal: %s, want 200", resp.Status)
	}
}

// TestSNISplitHello: a ClientHello for evil.test split across two TLS
// records, or written a byte at a time, in a tunnel opened for good.test
// is still read whole and refused; a hello that never completes is
// refused, not relayed (review 13, #5).
func TestSNISplitHello(t *testing.T) {
	good := echoServer(t, "127.0.0.2")
	s, httpAddr, _ := startProxy(t, Policy{AllowLocal: true, Allow: []string{"good.test"}, Hosts: map[string]string{"good.test": "127.0.0.2"}})
	hello := clientHello(t, "evil.test")
	body := hello[5:]
	k := len(body) / 3
	split := append([]byte{22, 3, 1, byte(k >> 8), byte(k)}, body[:k]...)
	split = append(split, 22, 3, 1, byte((len(body)-k)>>8), byte(len(body)-k))
	split = append(split, body[k:]...)
	send := map[string]func(c net.Conn){
		"two records": func(c net.Conn) { c.Write(split) },
		"byte by byte": func(c net.Conn) {
			c.(*net.TCPConn).SetNoDelay(true)
			for _, b := range hello {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
			}
		},
		"truncated": func(c net.Conn) { c.Write(hello[:len(hello)-10]); c.(*net.TCPConn).CloseWrite() },
	}
	for name, fn := range send {
		c, resp, br := connect(t, httpAddr, "good.test:"+good)
		if resp.StatusCode != 200 {
			t.Fatal(resp.Status)
		}
		fn(c)
		got, _ := io.ReadAll(br)
		c.Close()
		if len(got) != 0 {
			t.Errorf("%s: the hello reached the server (%d bytes echoed)", name, len(got))
		}
	}
	got := Summary(s.Denied())
	if !strings.Contains(got, "evil.test:"+good+" (SNI, via good.test) (×2)") || !strings.Contains(got, "unreadable TLS ClientHello") {
		t.Errorf("denials = %q, want two SNI mismatches and an unreadable hello", got)
	}
}
