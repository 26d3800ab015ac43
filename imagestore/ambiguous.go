package imagestore

import (
	"encoding/json"
	"fmt"
	"strings"
)

// checkUnambiguous refuses a manifest document that could be read as both
// an image manifest and an index (CVE-2021-41190, fixed in image-spec
// 1.0.2 and distribution-spec 1.0.1): two clients could then run different
// images from one digest, one of them never checked by whoever signed or
// reviewed it. contentType is what the registry said the document is.
func checkUnambiguous(raw []byte, contentType string) error {
	var doc struct {
		MediaType string           `json:"mediaType"`
		Manifests *json.RawMessage `json:"manifests"`
		Layers    *json.RawMessage `json:"layers"`
		Config    *json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return &HostileError{Msg: fmt.Sprintf("unreadable manifest: %v", err)}
	}
	index, image := doc.Manifests != nil, doc.Layers != nil || doc.Config != nil
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	switch {
	case index && image:
		return &HostileError{Msg: "ambiguous manifest: it lists both manifests (an index) and layers or a config (an image)"}
	case index && doc.MediaType == "":
		return &HostileError{Msg: "ambiguous manifest: it lists manifests but has no mediaType to say it is an index"}
	case doc.MediaType != "" && ct != "" && isManifestType(ct) && ct != doc.MediaType:
		return &HostileError{Msg: fmt.Sprintf("ambiguous manifest: the registry serves it as %s, its mediaType says %s", ct, doc.MediaType)}
	case index && !isIndexType(doc.MediaType), image && isIndexType(doc.MediaType):
		return &HostileError{Msg: fmt.Sprintf("ambiguous manifest: its mediaType %s does not match its content", doc.MediaType)}
	}
	return nil
}

func isIndexType(mt string) bool {
	return mt == "application/vnd.oci.image.index.v1+json" || mt == "application/vnd.docker.distribution.manifest.list.v2+json"
}

func isManifestType(mt string) bool {
	return isIndexType(mt) || mt == "application/vnd.oci.image.manifest.v1+json" || mt == "application/vnd.docker.distribution.manifest.v2+json"
}
