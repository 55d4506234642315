package auth

import (
	"crypto/rand"
	"encoding/base32"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Role is what a user may do: globally (RoleAdmin) or through an assignment.
type Role string

// Roles. RoleAdmin is the only global role; the others are granted per round (coordinator) or
// per round and country (expert, reviewer).
const (
	RoleNone        Role = ""
	RoleAdmin       Role = "admin"
	RoleCoordinator Role = "coordinator"
	RoleExpert      Role = "expert"
	RoleReviewer    Role = "reviewer"
)

// AllRounds in an assignment makes a coordinator global.
const AllRounds = "*"

// Assignment gives a user a role in one round (coordinators; AllRounds for every round) or in
// one country of one round (experts and reviewers).
type Assignment struct {
	Role    Role
	Round   string
	Country string // empty for coordinators
}

// User is an account as the rest of the service sees it. The password hash is deliberately not
// here (see StoredUser), so that no handler can return or log it by accident.
type User struct {
	ID          string
	Email       string // as entered, for display and mail
	EmailKey    string // normalized; unique
	DisplayName string
	GlobalRole  Role // RoleAdmin or RoleNone
	Disabled    bool
	// Invited is true until the user has set a first password.
	Invited bool
	// SessionsNotBefore ends every session begun earlier: set when the password changes, so
	// that refresh tokens from before a reset stop working.
	SessionsNotBefore time.Time
	Assignments       []Assignment
	CreatedAt         time.Time
	LastLoginAt       time.Time // zero when never; kept outside the versioned record
	Version           int64
}

// StoredUser is a User with its credentials, as the store keeps it.
type StoredUser struct {
	User
	PasswordHash string // empty while Invited
}

// Principal returns who u is for the policy.
func (u User) Principal() Principal {
	return Principal{
		UserID:      u.ID,
		Admin:       u.GlobalRole == RoleAdmin,
		Disabled:    u.Disabled,
		Assignments: slices.Clone(u.Assignments),
	}
}

// NewUser is the input to create a user. An empty Password creates an invitation: the user sets
// the password with the one-time token the creation returns.
type NewUser struct {
	Email       string
	DisplayName string
	GlobalRole  Role
	Password    string
	// Assignments are granted with the creation, in the same first version: a bulk import
	// makes a user and their assignments in one write.
	Assignments []Assignment
}

// ValidateNewUser checks the email, display name and role of nu as CreateUser does, without
// creating anything: importers validate a whole file before writing.
func ValidateNewUser(nu NewUser) FieldErrors { return validateNewUser(nu) }

// ValidateAssignment checks the shape of a as Grant does.
func ValidateAssignment(a Assignment) FieldErrors { return validateAssignment(a) }

// NormalizeEmail returns the unique key of an email: trimmed and lower-cased, so that
// "Ann@Example.org" and "ann@example.org " are one account.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

func validateNewUser(nu NewUser) FieldErrors {
	var fe FieldErrors
	email := strings.TrimSpace(nu.Email)
	if email == "" {
		fe = append(fe, FieldError{"email", "is required"})
	} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		fe = append(fe, FieldError{"email", "is not a plain email address"})
	}
	name := strings.TrimSpace(nu.DisplayName)
	if name == "" {
		fe = append(fe, FieldError{"display_name", "is required"})
	} else if utf8.RuneCountInString(name) > 200 {
		fe = append(fe, FieldError{"display_name", "is longer than 200 characters"})
	}
	if nu.GlobalRole != RoleNone && nu.GlobalRole != RoleAdmin {
		fe = append(fe, FieldError{"role", "must be admin or empty"})
	}
	return fe
}

// validateAssignment checks the shape of a as its role requires. Round and country become parts
// of store keys and URLs, so they are restricted to a plain alphabet.
func validateAssignment(a Assignment) FieldErrors {
	var fe FieldErrors
	switch a.Role {
	case RoleCoordinator:
		if a.Round != AllRounds && !plainKey(a.Round) {
			fe = append(fe, FieldError{"round", "must be a round id or *"})
		}
		if a.Country != "" {
			fe = append(fe, FieldError{"country", "must be empty for a coordinator"})
		}
	case RoleExpert, RoleReviewer:
		if !plainKey(a.Round) {
			fe = append(fe, FieldError{"round", "must be a round id"})
		}
		if !plainKey(a.Country) {
			fe = append(fe, FieldError{"country", "must be a country code"})
		}
	default:
		fe = append(fe, FieldError{"role", "must be coordinator, expert or reviewer"})
	}
	return fe
}

func plainKey(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')) {
			return false
		}
	}
	return true
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newUserID returns "u_" and 80 random bits: unguessable, so ids in URLs reveal no count.
func newUserID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "u_" + strings.ToLower(idEncoding.EncodeToString(b))
}
