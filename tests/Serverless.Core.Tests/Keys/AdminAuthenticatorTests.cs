using Microsoft.Extensions.Options;
using Serverless.Core.Keys;

namespace Serverless.Core.Tests.Keys;

public sealed class AdminAuthenticatorTests
{
    private const string AdminKey = "admin-key-0123456789-abcdefghijklmnopqrstuvwxyz";

    [Fact]
    public void Configured_admin_key_is_accepted_as_a_bearer_token()
    {
        var admin = Create(AdminKey);

        Assert.True(admin.IsAdmin($"Bearer {AdminKey}"));
        Assert.True(admin.IsAdmin($"bearer  {AdminKey}"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer admin-key-0123456789-abcdefghijklmnopqrstuvwxyZ")]
    [InlineData("Bearer admin-key-0123456789-abcdefghijklmnopqrstuvwxy")]
    [InlineData("Basic admin-key-0123456789-abcdefghijklmnopqrstuvwxyz")]
    [InlineData("admin-key-0123456789-abcdefghijklmnopqrstuvwxyz")]
    public void Anything_but_the_admin_key_is_refused(string? header) =>
        Assert.False(Create(AdminKey).IsAdmin(header));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_configured_admin_key_nobody_is_admin(string? configured)
    {
        var admin = Create(configured);

        Assert.False(admin.IsAdmin("Bearer "));
        Assert.False(admin.IsAdmin($"Bearer {AdminKey}"));
    }

    private static AdminAuthenticator Create(string? key) => new(Options.Create(new AdminKeyOptions { Key = key }));
}
