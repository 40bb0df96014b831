//go:build tools

// Package tools pins helm's CLI in go.mod/go.sum; it is built with `go build helm.sh/helm/v3/cmd/helm`.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
