package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Targets tells which rounds exist and which countries take part in each, so that an assignment
// can only name a real round and one of its countries. The round package owns rounds; the
// service is given this view of them (app wires it) rather than importing that package.
type Targets interface {
	// RoundCountries returns the countries of round; an error wrapping ErrNotFound when there
	// is no such round.
	RoundCountries(ctx context.Context, round string) ([]string, error)
}

// ErrUnknownTarget: an assignment names a round that does not exist or a country that is not in
// its round. A *TargetError names the field.
var ErrUnknownTarget = errors.New("auth: unknown round or country")

// TargetError names the field of an assignment that points at nothing.
type TargetError struct {
	Field  string // "round" or "country"
	Reason string
}

func (e *TargetError) Error() string { return "auth: " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrUnknownTarget) true.
func (e *TargetError) Is(target error) bool { return target == ErrUnknownTarget }

// CheckTarget checks that a names an existing round and, for experts and reviewers, one of its
// countries. Country codes are matched without regard to case; the returned assignment carries
// the round's own spelling. Without configured Targets every assignment passes, as before.
func (s *Service) CheckTarget(ctx context.Context, a Assignment) (Assignment, error) {
	if s.targets == nil || a.Round == AllRounds {
		return a, nil
	}
	countries, err := s.targets.RoundCountries(ctx, a.Round)
	if errors.Is(err, ErrNotFound) {
		return a, &TargetError{Field: "round", Reason: fmt.Sprintf("no round %q exists", a.Round)}
	}
	if err != nil {
		return a, err
	}
	if a.Role == RoleCoordinator {
		return a, nil
	}
	i := slices.IndexFunc(countries, func(c string) bool { return strings.EqualFold(c, a.Country) })
	if i < 0 {
		return a, &TargetError{Field: "country", Reason: fmt.Sprintf("%q is not a country of round %s", a.Country, a.Round)}
	}
	a.Country = countries[i]
	return a, nil
}

// UserByEmail returns the user with email (compared as NormalizeEmail does) to an admin;
// ErrNotFound when there is none.
func (s *Service) UserByEmail(ctx context.Context, p Principal, email string) (User, error) {
	if err := p.Can(ManageUsers, Scope{}); err != nil {
		return User{}, err
	}
	su, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return User{}, err
	}
	return su.User, nil
}
