package imagestore

// Limits bound what the store accepts from a registry: an image is hostile
// input, and a small manifest can describe a decompression bomb.
type Limits struct {
	// ManifestBytes bounds a manifest or index, ConfigBytes an image config.
	ManifestBytes int64 `json:"manifest_bytes"`
	ConfigBytes   int64 `json:"config_bytes"`
	// LayerBytes bounds a layer's uncompressed content, LayerFiles its
	// entries.
	LayerBytes int64 `json:"layer_bytes"`
	LayerFiles int   `json:"layer_files"`
}

// DefaultLimits are generous for real images (the largest CUDA and
// TeX Live layers are under 8 GiB and 500k files).
var DefaultLimits = Limits{
	ManifestBytes: 4 << 20,
	ConfigBytes:   8 << 20,
	LayerBytes:    32 << 30,
	LayerFiles:    2_000_000,
}

func (l Limits) withDefaults() Limits {
	if l.ManifestBytes <= 0 {
		l.ManifestBytes = DefaultLimits.ManifestBytes
	}
	if l.ConfigBytes <= 0 {
		l.ConfigBytes = DefaultLimits.ConfigBytes
	}
	if l.LayerBytes <= 0 {
		l.LayerBytes = DefaultLimits.LayerBytes
	}
	if l.LayerFiles <= 0 {
		l.LayerFiles = DefaultLimits.LayerFiles
	}
	return l
}
