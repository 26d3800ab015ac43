package imagestore

import (
	"crypto/x509"
	"errors"
	"net/http"
	"strings"

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
