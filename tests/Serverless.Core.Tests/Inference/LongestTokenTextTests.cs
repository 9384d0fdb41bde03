using Serverless.Core.Inference;
using Serverless.Core.Models;

namespace Serverless.Core.Tests.Inference;

/// <summary>The most input one token can cover, read from tokenizer.json, bounds the prompt a context can hold.</summary>
public sealed class LongestTokenTextTests : IDisposable
{
    private readonly string _file = Path.Combine(Directory.CreateTempSubdirectory("serverless-tokenizer-").FullName, "tokenizer.json");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_file)!, recursive: true);

    [Theory]
    [InlineData("""{"normalizer":null,"model":{"type":"BPE","vocab":{"a":0,"Ġthe":1,"ĠĠĠĠĠĠĠĠ":2}},"added_tokens":[{"id":3,"content":"<|end|>"}]}""", 8)]
    [InlineData("""{"normalizer":null,"model":{"type":"BPE","vocab":{"a":0}},"added_tokens":[{"id":1,"content":"<|endoftext|>"}]}""", 13)]
    [InlineData("""{"normalizer":null,"model":{"type":"Unigram","vocab":[["<unk>",0.0],["▁hello",-1.5]]}}""", 6)]
    [InlineData("""{"normalizer":{"type":"NFKC"},"model":{"type":"WordPiece","vocab":{"##ing":0,"run":1}}}""", 20)]
    public void The_longest_entry_bounds_a_token_and_a_normalizer_widens_the_bound(string json, int expected)
    {
        File.WriteAllText(_file, json);
        Assert.Equal(expected, LoadedModel.LongestTokenText(_file));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"model":{"type":"BPE","vocab":{}}}""")]
    public void A_missing_file_or_an_empty_vocabulary_gives_no_bound(string? json)
    {
        if (json is not null)
        {
            File.WriteAllText(_file, json);
        }

        Assert.Null(LoadedModel.LongestTokenText(_file));
    }
}
