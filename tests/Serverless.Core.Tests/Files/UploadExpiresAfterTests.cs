using Serverless.Core.Files;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Files;

public sealed class UploadExpiresAfterTests
{
    [Fact]
    public void No_expires_after_fields_leave_the_default_expiry()
    {
        Assert.Null(FileUploadReader.ExpiresAfter(null, null));
    }

    [Theory]
    [InlineData("3600", 3600)]
    [InlineData("2592000", 2_592_000)]
    public void Seconds_within_one_hour_and_30_days_from_created_at_are_accepted(string seconds, int expected)
    {
        Assert.Equal(TimeSpan.FromSeconds(expected), FileUploadReader.ExpiresAfter("created_at", seconds));
    }

    [Theory]
    [InlineData("created_at", "3599", "expires_after[seconds]")]
    [InlineData("created_at", "2592001", "expires_after[seconds]")]
    [InlineData("created_at", "-5", "expires_after[seconds]")]
    [InlineData("created_at", "1e4", "expires_after[seconds]")]
    [InlineData("last_active_at", "3600", "expires_after[anchor]")]
    [InlineData(null, "3600", "expires_after[anchor]")]
    [InlineData("created_at", null, "expires_after[seconds]")]
    public void Out_of_range_or_incomplete_expires_after_is_a_400_naming_the_field(string? anchor, string? seconds, string param)
    {
        var error = Assert.Throws<ApiException>(() => FileUploadReader.ExpiresAfter(anchor, seconds));
        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
    }
}
