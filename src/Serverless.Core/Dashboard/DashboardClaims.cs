namespace Serverless.Core.Dashboard;

/// <summary>What a verified dashboard token says: whose dashboard, through which key (sessions from a key), until when.</summary>
/// <param name="Id">Random id of the session or link; a session's CSRF token is derived from it.</param>
/// <param name="KeyId">The API key a session was opened with; null for sessions from a sign-in link.</param>
public sealed record DashboardClaims(string CustomerId, string? KeyId, string Id, DateTimeOffset IssuedAt, DateTimeOffset ExpiresAt);
