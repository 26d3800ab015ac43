package proxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server serves the proxy protocols on listeners it is given. It is safe
// for concurrent use.
type Server struct {
	policy Policy
	dial   func(network, addr string) (net.Conn, error)

	mu        sync.Mutex
	denied    map[string]int
	order     []string
	conns     map[net.Conn]bool
	listeners []net.Listener
	closing   bool
}

// Denial is one denied target and how often it was asked for.
type Denial struct {
	Target string `json:"target"`
	Count  int    `json:"count"`
}

// New returns a server with policy p.
func New(p Policy) *Server {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &Server{policy: p, dial: d.Dial, denied: map[string]int{}, conns: map[net.Conn]bool{}}
}

// Denied lists what was denied, in the order first seen.
func (s *Server) Denied() []Denial {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Denial, 0, len(s.order))
	for _, t := range s.order {
		out = append(out, Denial{Target: t, Count: s.denied[t]})
	}
	return out
}

// Summary renders Denied as one line, or "" when nothing was denied.
func Summary(ds []Denial) string {
	if len(ds) == 0 {
		return ""
	}
	total := 0
	var parts []string
	for _, d := range ds {
		total += d.Count
		if d.Count > 1 {
			parts = append(parts, fmt.Sprintf("%s (×%d)", d.Target, d.Count))
		} else {
			parts = append(parts, d.Target)
		}
	}
	noun := "connections"
	if total == 1 {
		noun = "connection"
	}
	return fmt.Sprintf("denied %d %s: %s", total, noun, strings.Join(parts, ", "))
}

func (s *Server) deny(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[target] == 0 {
		s.order = append(s.order, target)
	}
	s.denied[target]++
}

// Close stops serving and drops open connections.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
}

func (s *Server) track(c net.Conn, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on && s.closing {
		return false
	}
	if on {
		s.conns[c] = true
	} else {
		delete(s.conns, c)
	}
	return true
}

func (s *Server) serve(l net.Listener, handle func(net.Conn)) error {
	s.mu.Lock()
	s.listeners = append(s.listeners, l)
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		if !s.track(c, true) {
			c.Close()
			return net.ErrClosed
		}
		go func() {
			defer s.track(c, false)
			defer c.Close()
			handle(c)
		}()
	}
}

// ServeHTTP serves HTTP proxy requests on l until l is closed.
func (s *Server) ServeHTTP(l net.Listener) error { return s.serve(l, s.handleHTTP) }

// ServeSOCKS serves SOCKS5 (CONNECT, no authentication) on l.
func (s *Server) ServeSOCKS(l net.Listener) error { return s.serve(l, s.handleSOCKS) }

const forbidden = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"sandbox: connection to %s denied: the host is not in network.allow of sandbox.toml\n"

// handleHTTP reads one request head. CONNECT opens a tunnel; any other
// method must carry an absolute URI and is relayed to its host with the
// connection closed after the response. (net/http is not used on purpose:
// this package is linked into every sandbox start, and net/http's package
// initialisation alone costs about 0.1 ms per exec.)
func (s *Server) handleHTTP(c net.Conn) {
	br := bufio.NewReader(c)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	header, err := tp.ReadMIMEHeader()
	if !ok1 || !ok2 || err != nil {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nsandbox: malformed request\n")
		return
	}
	if method == "CONNECT" {
		host, port, err := net.SplitHostPort(target)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nsandbox: CONNECT needs host:port\n")
			return
		}
		up := s.open(c, host, port)
		if up == nil {
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		s.tunnel(&bufferedConn{c, br}, up, host, port)
		return
	}
	s.forward(&bufferedConn{c, br}, method, target, proto, header)
}

// open dials host:port for an HTTP client c if the policy allows it, and
// otherwise answers c with 403 (counted) or 502 and returns nil.
func (s *Server) open(c net.Conn, host, port string) net.Conn {
	target := net.JoinHostPort(host, port)
	if !s.policy.Allowed(host) {
		s.deny(target)
		fmt.Fprintf(c, forbidden, target)
		return nil
	}
	up, err := s.connect(host, port)
	var local *localError
	switch {
	case errors.As(err, &local):
		s.deny(target + " (resolves to a local address)")
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\nsandbox: connection to %s denied: %v\n", target, err)
		return nil
	case err != nil:
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\nsandbox: %v\n", err)
		return nil
	}
	return up
}

// connect dials an allowed host, trying each address it resolves to.
func (s *Server) connect(host, port string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := s.policy.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		var c net.Conn
		if c, err = s.dial("tcp", net.JoinHostPort(a, port)); err == nil {
			return c, nil
		}
	}
	return nil, err
}

// forward relays one plain-HTTP request with an absolute URI: the head is
// rewritten for the origin (path only, no proxy headers, Connection:
// close) and the rest of both streams is copied as it is.
func (s *Server) forward(c net.Conn, method, target, proto string, header textproto.MIMEHeader) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || u.Scheme != "http" {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nsandbox: this is a proxy: send an absolute http:// URI, or CONNECT\n")
		return
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	up := s.open(c, u.Hostname(), port)
	if up == nil {
		return
	}
	defer up.Close()
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s %s\r\n", method, u.RequestURI(), proto)
	for k, vs := range header {
		switch k {
		case "Proxy-Connection", "Proxy-Authorization", "Connection", "Keep-Alive":
			continue
		}
		for _, v := range vs {
			fmt.Fprintf(&head, "%s: %s\r\n", k, v)
		}
	}
	head.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(up, head.String()); err != nil {
		return
	}
	relay(c, up)
}

// handleSOCKS speaks SOCKS5 (RFC 1928): no authentication, CONNECT only.
func (s *Server) handleSOCKS(c net.Conn) {
	br := bufio.NewReader(c)
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil || hdr[0] != 5 {
		return
	}
	if _, err := io.ReadFull(br, make([]byte, hdr[1])); err != nil {
		return
	}
	c.Write([]byte{5, 0})
	req := make([]byte, 4)
	if _, err := io.ReadFull(br, req); err != nil || req[0] != 5 {
		return
	}
	reply := func(code byte) { c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0}) }
	var host string
	switch req[3] {
	case 1, 4: // IPv4, IPv6
		ip := make([]byte, map[byte]int{1: 4, 4: 16}[req[3]])
		if _, err := io.ReadFull(br, ip); err != nil {
			return
		}
		host = net.IP(ip).String()
	case 3: // domain name
		n, err := br.ReadByte()
		if err != nil {
			return
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(br, name); err != nil {
			return
		}
		host = string(name)
	default:
		reply(8) // address type not supported
		return
	}
	pb := make([]byte, 2)
	if _, err := io.ReadFull(br, pb); err != nil {
		return
	}
	port := strconv.Itoa(int(binary.BigEndian.Uint16(pb)))
	if req[1] != 1 {
		reply(7) // command not supported
		return
	}
	target := net.JoinHostPort(host, port)
	if !s.policy.Allowed(host) {
		s.deny(target)
		reply(2) // connection not allowed by ruleset
		return
	}
	up, err := s.connect(host, port)
	var local *localError
	if errors.As(err, &local) {
		s.deny(target + " (resolves to a local address)")
		reply(2)
		return
	}
	if err != nil {
		reply(5) // connection refused
		return
	}
	defer up.Close()
	reply(0)
	s.tunnel(&bufferedConn{c, br}, up, host, port)
}

// tunnel relays both ways. Upstream bytes pass at once (SMTP, SSH speak first); the
// client's wait for its first record: a TLS ClientHello's SNI must name the host asked for.
func (s *Server) tunnel(client net.Conn, up net.Conn, host, port string) {
	down := make(chan struct{})
	go func() { io.Copy(client, up); closeWrite(client); close(down) }()
	defer func() { <-down }()
	first, sni, err := readFirst(client)
	switch {
	case errors.Is(err, errNotTLS):
		s.deny(net.JoinHostPort(host, port) + " (unreadable TLS ClientHello)")
	case err == nil && sni != "" && !strings.EqualFold(sni, host):
		s.deny(net.JoinHostPort(sni, port) + " (SNI, via " + host + ")")
		err = errors.New("SNI mismatch")
	case err == nil:
		_, err = up.Write(first)
	}
	if err != nil {
		up.Close() // ends the relay to the client
		return
	}
	io.Copy(up, client)
	closeWrite(up)
}

// relay copies both ways until both sides are done.
func relay(client, up net.Conn) {
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, client); closeWrite(up); done <- struct{}{} }()
	go func() { io.Copy(client, up); closeWrite(client); done <- struct{}{} }()
	<-done
	<-done
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func closeWrite(c net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if b, ok := c.(*bufferedConn); ok {
		c = b.Conn
	}
	if cw, ok := c.(closeWriter); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// bufferedConn reads through the bufio.Reader that parsed the request.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
