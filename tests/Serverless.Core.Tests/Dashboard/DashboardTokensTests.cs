using System.Text;
using Microsoft.Extensions.Options;
using Serverless.Core.Dashboard;
using Serverless.Core.Keys;

namespace Serverless.Core.Tests.Dashboard;

public sealed class DashboardTokensTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static DashboardTokens Tokens(string secret = "dashboard-test-secret-0123456789-abcdefgh") =>
        new(Options.Create(new KeyOptions { HashSecret = secret }));

    [Fact]
    public void A_session_token_reads_back_its_customer_key_and_expiry_until_it_expires()
    {
        var tokens = Tokens();
        string token = tokens.CreateSession("acme", "7d2kq9mx4hta", Now, TimeSpan.FromHours(1));

        var claims = tokens.ReadSession(token, Now.AddMinutes(59));
        Assert.NotNull(claims);
        Assert.Equal("acme", claims.CustomerId);
        Assert.Equal("7d2kq9mx4hta", claims.KeyId);
        Assert.Equal(Now.AddHours(1), claims.ExpiresAt);
        Assert.Null(tokens.ReadSession(token, Now.AddHours(1)));
        Assert.Null(tokens.ReadSession(token, Now.AddMinutes(-5))); // issued "in the future": a clock far off, or forged
    }

    [Fact]
    public void A_link_is_not_a_session_and_a_session_is_not_a_link()
    {
        var tokens = Tokens();
        string link = tokens.CreateLink("acme", Now, TimeSpan.FromMinutes(15));
        string session = tokens.CreateSession("acme", null, Now, TimeSpan.FromMinutes(15));

        Assert.NotNull(tokens.ReadLink(link, Now));
        Assert.Null(tokens.ReadSession(link, Now));
        Assert.Null(tokens.ReadLink(session, Now));
    }

    [Fact]
    public void A_token_with_any_byte_changed_or_from_another_secret_is_refused()
    {
        var tokens = Tokens();
        string token = tokens.CreateSession("acme", null, Now, TimeSpan.FromHours(1));
        for (int i = 0; i < token.Length; i++)
        {
            char replacement = token[i] == 'A' ? 'B' : 'A';
            string changed = string.Concat(token.AsSpan(0, i), new string(replacement, 1), token.AsSpan(i + 1));
            Assert.Null(tokens.ReadSession(changed, Now));
        }

        Assert.Null(Tokens("another-secret-of-enough-length-0123456789").ReadSession(token, Now));
        Assert.Null(tokens.ReadSession(token + "A", Now));
        Assert.Null(tokens.ReadSession(token[..^1], Now));
        Assert.Null(tokens.ReadSession(string.Empty, Now));
        Assert.Null(tokens.ReadSession(new string('a', 5000), Now));
    }

    [Fact]
    public void The_claims_hold_only_public_ids_and_times()
    {
        string token = Tokens().CreateSession("acme", "7d2kq9mx4hta", Now, TimeSpan.FromHours(1));
        string claims = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]));
        Assert.Matches("""^\{"typ":"session","cus":"acme","key":"7d2kq9mx4hta","jti":"[A-Za-z0-9_-]{22}","iat":\d+,"exp":\d+\}$""", claims);
    }

    [Fact]
    public void The_csrf_token_belongs_to_one_session()
    {
        var tokens = Tokens();
        string first = tokens.CsrfToken("session-one");
        Assert.True(tokens.IsValidCsrfToken("session-one", first));
        Assert.False(tokens.IsValidCsrfToken("session-two", first));
        Assert.False(tokens.IsValidCsrfToken("session-one", null));
        Assert.False(tokens.IsValidCsrfToken("session-one", string.Empty));
        Assert.False(tokens.IsValidCsrfToken("session-one", first[..^1] + (first[^1] == 'A' ? 'B' : 'A')));
        Assert.NotEqual(first, Tokens("another-secret-of-enough-length-0123456789").CsrfToken("session-one"));
    }

    [Fact]
    public void Lifetimes_are_bounded_and_customer_ids_validated()
    {
        var tokens = Tokens();
        Assert.Throws<ArgumentOutOfRangeException>(() => tokens.CreateSession("acme", null, Now, TimeSpan.FromDays(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokens.CreateLink("acme", Now, TimeSpan.FromDays(8)));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokens.CreateLink("acme", Now, TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => tokens.CreateLink("<script>", Now, TimeSpan.FromMinutes(5)));
        Assert.NotNull(tokens.ReadLink(tokens.CreateLink("acme", Now, DashboardOptions.MaxLinkLifetime), Now));
    }
}
