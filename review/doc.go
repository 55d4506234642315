// Package review is the peer-review workflow of a sheet.
package review
