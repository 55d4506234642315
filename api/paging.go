package api

import (
	"cmp"
	"slices"
	"time"

	"github.com/labstack/echo/v5"
)

// Lists the services hold whole (rounds, questionnaires, webhooks, errata: a handful to a few
// hundred items that grow over the years) are paged here, by the same two query parameters as
// the lists the store pages (users, audit): `limit` and `after`, the key of the last item of
// the previous page, given back as `next`. Items are ordered by that key, so a page boundary
// stays put when items are added or removed elsewhere in the list.

// keyPage is the page of items after the key in ?after=, at most ?limit= (def when absent, at
// most maxLimit), ordered by key; next is the key of the page's last item when more follow.
func keyPage[T any](c *echo.Context, items []T, key func(*T) string, def, maxLimit int) (page []T, next string, err error) {
	limit, err := queryLimit(c, def, maxLimit)
	if err != nil {
		return nil, "", err
	}
	after := c.QueryParam("after")
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b T) int { return cmp.Compare(key(&a), key(&b)) })
	from, _ := slices.BinarySearchFunc(items, after, func(it T, k string) int { return cmp.Compare(key(&it), k) })
	if from < len(items) && after != "" && key(&items[from]) == after {
		from++
	}
	page = items[from:min(from+limit, len(items))]
	if from+len(page) < len(items) {
		next = key(&page[len(page)-1])
	}
	return page, next, nil
}

// creationKey orders items oldest first (webhooks, questionnaire versions), the id breaking ties:
// the time in a fixed-width UTC form, so that it sorts as text.
func creationKey(created time.Time, id string) string {
	return created.UTC().Format("20060102T150405.000000000") + "/" + id
}
