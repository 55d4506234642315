package api

import (
	"net/http"

	"github.com/labstack/echo/v5"
)

// routes lists the whole API in one place. Routes under v1 need a bearer token; the few public
// ones are registered on e with their full path.
func (s *Server) routes() {
	e := s.echo
	e.GET("/livez", s.handleLive)
	e.GET("/healthz", s.handleLive)
	e.GET("/readyz", s.handleReady)
	if !s.separateMetrics {
		e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	}
	e.GET("/openapi.yaml", s.handleSpec)
	e.GET("/docs", s.handleDocs)
	e.GET("/docs/:asset", s.handleDocsAsset)
	e.GET("/problems", s.handleProblemTypes)
	e.GET("/problems/:type", s.handleProblemType)

	v1 := e.Group("/v1", s.authenticate, canonicalCountry)

	// --- auth and users ---
	e.POST("/v1/auth/login", s.handleLogin)
	e.POST("/v1/auth/refresh", s.handleRefresh)
	e.POST("/v1/auth/logout", s.handleLogout)
	e.POST("/v1/auth/accept-invitation", s.handleAcceptInvitation)
	v1.GET("/me", s.handleMe)
	v1.GET("/me/tasks", s.handleMyTasks)
	v1.GET("/users", s.handleListUsers)
	v1.POST("/users", s.handleCreateUser)
	v1.POST("/users/import", s.handleImportUsers)
	s.allowLargeBody(http.MethodPost, "/v1/users/import", RosterBodyLimit)
	v1.GET("/users/:id", s.handleGetUser)
	v1.POST("/users/:id/disable", s.handleDisableUser)
	v1.POST("/users/:id/enable", s.handleEnableUser)
	v1.POST("/users/:id/password-reset", s.handleResetPassword)
	v1.GET("/users/:id/assignments", s.handleListAssignments)
	v1.POST("/users/:id/assignments", s.handleGrantAssignment)
	v1.DELETE("/users/:id/assignments", s.handleRevokeAssignment)
	v1.GET("/audit", s.handleListAudit)

	// --- questionnaires ---
	v1.GET("/questionnaires", s.handleListQuestionnaires)
	v1.POST("/questionnaires", s.handleCreateQuestionnaire)
	v1.GET("/questionnaires/:code", s.handleGetQuestionnaire)
	v1.GET("/questionnaires/:code/versions", s.handleListVersions)
	v1.POST("/questionnaires/:code/versions", s.handleCreateVersion)
	s.allowLargeBody(http.MethodPost, "/v1/questionnaires/:code/versions", QuestionnaireBodyLimit)
	v1.GET("/questionnaires/:code/versions/:version", s.handleGetVersion)
	v1.PUT("/questionnaires/:code/versions/:version", s.handlePutVersion)
	s.allowLargeBody(http.MethodPut, "/v1/questionnaires/:code/versions/:version", QuestionnaireBodyLimit)
	v1.POST("/questionnaires/:code/versions/:version/publish", s.handlePublishVersion)
	v1.GET("/questionnaires/:code/versions/:version/validation", s.handleValidateVersion)
	v1.GET("/questionnaires/:code/versions/:version/export", s.handleExportVersion)
	v1.POST("/questionnaires/:code/versions/:version/score", s.handleScoreVersion)
	v1.POST("/questionnaires/:code/import", s.handleImportQuestionnaire)
	s.allowLargeBody(http.MethodPost, "/v1/questionnaires/:code/import", QuestionnaireBodyLimit)
	v1.GET("/questionnaires/:code/diff", s.handleDiffVersions)

	// --- rounds, sheets and answers ---
	v1.GET("/rounds", s.handleListRounds)
	v1.POST("/rounds", s.handleCreateRound)
	v1.GET("/rounds/:round", s.handleGetRound)
	v1.PUT("/rounds/:round", s.handleUpdateRound)
	v1.POST("/rounds/:round/status", s.handleSetRoundStatus)
	v1.POST("/rounds/:round/assignments/copy", s.handleCopyAssignments)
	v1.GET("/rounds/:round/dashboard", s.handleDashboard)
	v1.GET("/rounds/:round/scores", s.handleRoundScores)
	v1.GET("/rounds/:round/calibration/:indicator", s.handleCalibration)
	v1.GET("/rounds/:round/agreement", s.handleAgreement)
	v1.POST("/rounds/:round/answers/import", s.handleImportAnswers)
	s.allowLargeBody(http.MethodPost, "/v1/rounds/:round/answers/import", 64<<20)
	v1.GET("/rounds/:round/countries/:country", s.handleGetSheet)
	v1.POST("/rounds/:round/countries/:country/submit", s.handleSubmitSheet)
	v1.POST("/rounds/:round/countries/:country/return", s.handleReturnSheet)
	v1.POST("/rounds/:round/countries/:country/confirm", s.handleConfirmSheet)
	v1.GET("/rounds/:round/countries/:country/changes", s.handleSheetChanges)
	v1.GET("/rounds/:round/countries/:country/answers/:indicator", s.handleGetAnswer)
	v1.PUT("/rounds/:round/countries/:country/answers/:indicator", s.handlePutAnswer)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/confirm", s.handleConfirmAnswer)
	v1.GET("/rounds/:round/countries/:country/answers/:indicator/history", s.handleAnswerHistory)
	v1.GET("/rounds/:round/countries/:country/answers/:indicator/diff", s.handleAnswerDiff)
	// --- review ---
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/verdicts", s.handleVerdict, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/dispute", s.handleDispute, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/adjudication", s.handleAdjudicate, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/send-back", s.handleSendBack, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/override", s.handleOverride, s.idempotent)
	v1.GET("/rounds/:round/countries/:country/answers/:indicator/comments", s.handleListComments)
	v1.POST("/rounds/:round/countries/:country/answers/:indicator/comments", s.handleAddComment, s.idempotent)
	v1.PATCH("/rounds/:round/countries/:country/answers/:indicator/comments/:comment", s.handleEditComment, s.idempotent)
	v1.GET("/rounds/:round/countries/:country/timeline", s.handleTimeline)
	v1.GET("/rounds/:round/countries/:country/answers/:indicator/timeline", s.handleTimeline)
	v1.POST("/rounds/:round/countries/:country/approvals", s.handleApprovals, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/lock", s.handleLockSheet, s.idempotent)
	v1.POST("/rounds/:round/countries/:country/reopen", s.handleReopenSheet, s.idempotent)
	// --- snapshots, errata, publication (publish.go) ---
	v1.POST("/rounds/:round/lock", s.handleLockSheets, s.idempotent)
	v1.GET("/rounds/:round/countries/:country/snapshot", s.handleGetSnapshot)
	v1.GET("/rounds/:round/countries/:country/snapshot/verify", s.handleVerifySnapshot)
	v1.GET("/rounds/:round/errata", s.handleErrata)
	v1.GET("/rounds/:round/export", s.handleExport)
	v1.GET("/rounds/:round/compare/:other", s.handleCompare)

	// --- the public, read-only API (public.go): published rounds, no token ---
	e.GET("/v1/public/rounds", s.handlePublicRounds)
	e.GET("/v1/public/rounds/:round", s.handlePublicRound)
	e.GET("/v1/public/rounds/:round/scores", s.handlePublicScores)
	e.GET("/v1/public/rounds/:round/countries/:country/answers", s.handlePublicAnswers)
	e.GET("/v1/public/rounds/:round/errata", s.handlePublicErrata)
	e.GET("/v1/public/series", s.handlePublicSeries)
	e.GET("/v1/public/rounds/:round/export", s.handlePublicExport)

	// --- notifications ---
	s.webhookRoutes(v1)
}

// webhookRoutes are the notification webhooks (api/webhooks.go), admins only.
func (s *Server) webhookRoutes(v1 *echo.Group) {
	v1.GET("/webhooks", s.handleListWebhooks)
	v1.POST("/webhooks", s.handleCreateWebhook)
	v1.DELETE("/webhooks/:id", s.handleDeleteWebhook)
	v1.GET("/webhooks/:id/deliveries", s.handleListDeliveries)
}
