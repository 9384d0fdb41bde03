using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;

namespace Serverless.Core.Dashboard;

/// <summary>The customer dashboard at /dashboard. Section "Dashboard". Its tokens are signed with keys derived from Keys:HashSecret.</summary>
public sealed class DashboardOptions
{
    public const string SectionName = "Dashboard";

    /// <summary>The longest sign-in link the admin CLI makes (<c>--expires-in</c>).</summary>
    public static readonly TimeSpan MaxLinkLifetime = TimeSpan.FromDays(7);

    /// <summary>How long a session cookie is valid after signing in; there is no sliding renewal.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "1.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a sign-in link from <c>dashboard link</c> is valid unless the command says otherwise.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan LinkLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// SameAsRequest: the cookie is Secure when the request came over HTTPS (directly or per X-Forwarded-Proto).
    /// Always: Secure regardless, for hosts behind a front end that terminates TLS (Azure sets this).
    /// </summary>
    [EnumDataType(typeof(CookieSecurePolicy))]
    public CookieSecurePolicy SecureCookie { get; set; } = CookieSecurePolicy.SameAsRequest;
}
