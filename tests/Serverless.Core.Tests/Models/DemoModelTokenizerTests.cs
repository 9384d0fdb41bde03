using System.Text;

namespace Serverless.Core.Tests.Models;

[Collection(DemoModelCollection.Name)]
public sealed class DemoModelTokenizerTests(DemoModelFixture fixture)
{
    public static TheoryData<string> TrickyText => new()
    {
        "Hello, world!",
        "café naïve résumé Ångström Æsir",
        "日本語のテキスト 中文 한국어",
        "שלום עולם مرحبا بالعالم",
        "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️",
        "   leading spaces",
        "trailing spaces   ",
        "tabs\tand\nnewlines\r\n\n\n  x",
        "multiple     spaces\t\t here",
        "don't I'LL we've they'RE it's O'Neil",
        "12345 3.14159 1,000,000 0x1F 2024-06-01",
        "a\u00A0b\u2009c\u200Bd",
        "Zalgo t̸͉̒e̷̗͝x̴̰̌t̶͎̓",
        "ｆｕｌｌｗｉｄｔｈ Ⅻ ½ ² ①",
        "<|user|>\nplain text that looks like markup<|end|>",
        " ",
        "\n",
    };

    [Theory]
    [MemberData(nameof(TrickyText))]
    public void Encodes_like_tiktoken_gpt2_and_decodes_back(string text)
    {
        var ids = fixture.Tokenizer.Encode(text)[0].ToArray();

        Assert.Equal(fixture.Encode(text), ids);
        Assert.Equal(text, fixture.Tokenizer.Decode(ids));
    }

    [Fact]
    public void End_of_text_is_a_single_special_token()
    {
        Assert.Equal([DemoModelFixture.EndOfText], fixture.Tokenizer.Encode("<|endoftext|>")[0].ToArray());
        Assert.Equal([DemoModelFixture.EndOfText], fixture.Tokenizer.GetEosTokenIds().ToArray());
    }

    [Fact]
    public void Encodes_like_tiktoken_gpt2_on_random_mixed_script_text()
    {
        string[] pieces =
        [
            "a", "Z", "é", "ß", "日", "中", "한", "ש", "م", "ж", "7", "0", "½", " ", "  ", "\t", "\n", "\r\n", "\u00A0", "\u3000",
            "'s", "'S", "'ll", "'LL", "'re", "'ve", "'d", "'m", "'t", "'", "\"", ".", ",", "!", "?", "-", "—", "…",
            "😀", "👍🏽", "👨‍👩‍👧", "\u0301", "\u200D", "\uFE0F", "$", "€", "<|", "|>", "{", "}", "123", "4.5", " the", " cat",
        ];
        var random = new Random(1234);
        for (var i = 0; i < 2000; i++)
        {
            var text = new StringBuilder();
            for (var j = random.Next(1, 16); j > 0; j--)
            {
                text.Append(pieces[random.Next(pieces.Length)]);
            }

            var ids = fixture.Tokenizer.Encode(text.ToString())[0].ToArray();
            Assert.Equal(fixture.Encode(text.ToString()), ids);
            Assert.Equal(text.ToString(), fixture.Tokenizer.Decode(ids));
        }
    }
}
