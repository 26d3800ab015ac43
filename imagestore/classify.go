package imagestore

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// transportError is a registry error with advice.
type transportError struct {
	err  error
	hint string
}

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

const insecureHint = "the registry does not speak verified TLS; if you trust it, pass --tls-verify=false or list it in the profile's insecure_registries = [\"HOST:PORT\"]"

// classify attaches advice to the registry errors users meet most: TLS to
// a plain-HTTP or self-signed registry, authentication, unknown names.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var unknownAuthority x509.UnknownAuthorityError
	var certInvalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	msg := err.Error()
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &certInvalid), errors.As(err, &hostname),
		strings.Contains(msg, "server gave HTTP response to HTTPS client"),
		strings.Contains(msg, "tls: "):
		return &transportError{err, insecureHint}
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return &transportError{err, "log in to the registry (podman login or docker login; sandbox reads ~/.docker/config.json, $REGISTRY_AUTH_FILE and containers' auth.json)"}
		case http.StatusNotFound:
			return &transportError{err, "no such image or tag in the registry: check the name (`skopeo list-tags docker://REPO` lists tags)"}
		}
	}
	return err
}

// networkHint is for what went wrong between us and the registry.
const networkHint = "check the reference and your network; for a private registry log in (podman login or docker login write the credentials sandbox reads)"

// pullHint maps what made a pull or push fail to advice on that cause:
// a full disk, a damaged store, a malformed image, then the registry's
// own answers; the network hint only for errors of the network (or of
// unknown origin), never for a local file error.
func pullHint(err error, store string) string {
	var h *HostileError
	var c *CorruptError
	var te *transportError
	// Not the net.Error interface: a bare errno implements it too.
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var urlErr *url.Error
	var pathErr *os.PathError
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Sprintf("the disk that holds the image store (%s) is full: free space there (`sandbox prune` removes what no image needs) and pull again; what was stored so far is reused", store)
	case errors.As(err, &c):
		return c.Hint()
	case errors.As(err, &h):
		return h.Hint()
	case errors.As(err, &te):
		return te.hint
	case errors.As(err, &opErr), errors.As(err, &dnsErr), errors.As(err, &urlErr):
		return networkHint
	case errors.As(err, &pathErr):
		return "" // a local file: its error says which and why
	}
	return networkHint
}

// malformedStream turns the errors of a layer's decompressor (a corrupt
// gzip or zstd stream, one cut short) into a refusal of the image: they
// say the image is malformed, not that the network or the disk failed.
// Errors of reading the stored blob itself (*os.PathError) pass as they
// are.
type malformedStream struct{ r io.Reader }

func (m malformedStream) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	var pathErr *os.PathError
	var h *HostileError
	if err != nil && err != io.EOF && !errors.As(err, &pathErr) && !errors.As(err, &h) {
		err = &HostileError{Msg: fmt.Sprintf("malformed layer: its compressed stream is corrupt (%v)", err)}
	}
	return n, err
}
