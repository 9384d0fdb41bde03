using System.Text;
using Serverless.Core.Http;

namespace Serverless.Core.Tests.Http;

/// <summary>JSON that parses but holds text no string can is found where it comes in, not deep in a handler.</summary>
public sealed class JsonTextTests
{
    [Theory]
    [InlineData("""{"a":"plain","b":["x",1,{"c":"\u00e9\ud83d\ude00"}]}""")]
    [InlineData("""{"escaped\n":"tab\tquote\""}""")]
    public void Valid_text_has_nothing_wrong(string json) => Assert.Null(JsonText.FindInvalid(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("""{"a":"half \ud800 a pair"}""")]
    [InlineData("""{"a":"low first \udc00\ud800"}""")]
    [InlineData("""{"key \ud83d":1}""")]
    public void An_escape_of_half_a_surrogate_pair_is_found(string json) =>
        Assert.Contains("surrogate", JsonText.FindInvalid(Encoding.UTF8.GetBytes(json)), StringComparison.Ordinal);

    [Fact]
    public void Bytes_that_are_not_UTF8_are_found()
    {
        byte[] json = [.. "{\"a\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Contains("UTF-8", JsonText.FindInvalid(json), StringComparison.Ordinal);
    }
}
