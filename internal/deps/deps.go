//go:build tools

// Package deps pins the chosen dependencies while the packages that use
// them are being written; remove once each is imported for real.
package deps

import (
	_ "github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	_ "github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	_ "github.com/BurntSushi/toml"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/spf13/cobra"
	_ "github.com/wneessen/go-mail"
	_ "golang.org/x/oauth2"
)
