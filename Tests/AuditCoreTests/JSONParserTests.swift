import AuditCore
import Testing

@Suite struct JSONParserTests {
    @Test func parsesNestedDocumentKeepingNumbersAsText() throws {
        let v = try JSONParser.parse(#"{"a": [1, -2.5e3, true, null], "ticks": 638481757794854611, "s": "x\"y\u00e9\ud83d\ude00"}"#)
        #expect(v["ticks"] == .number("638481757794854611"))
        #expect(v["ticks"]?.int64 == 638_481_757_794_854_611)
        #expect(v["a"]?.arrayValue?.count == 4)
        #expect(v["a"]?.arrayValue?[1] == .number("-2.5e3"))
        #expect(v["s"]?.text == "x\"yé😀")
    }

    @Test func keepsKeysThatDifferOnlyByCase() throws {
        // opentelemetry servicehealth fixture: "Level": 5 next to "level": "Informational".
        let v = try JSONParser.parse(#"{"Level": 5, "level": "Informational"}"#)
        #expect(v.objectValue?.members.count == 2)
        #expect(v["level"]?.text == "Informational")
        #expect(v["Level"]?.text == "5")
        #expect(v["LEVEL"]?.text == "5")  // case-insensitive fallback takes the first
    }

    @Test(arguments: [
        "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "nul", "\"unterminated", "{\"a\":1} x", "01x", "\"bad \\q escape\"", "",
        "[" + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1001),
    ])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func embeddedObjectReadsJSONInAString() throws {
        let v = try JSONParser.parse(#"{"properties": "{\"apiName\":\"Azure OpenAI API version 2024-02-15-preview\",\"objectId\":\"\"}"}"#)
        #expect(v["properties"]?.embeddedObject?["apiName"]?.text == "Azure OpenAI API version 2024-02-15-preview")
        #expect(v["properties"]?.embeddedObject?["objectId"]?.nonEmptyText == nil)
    }

    @Test func serializationRoundTrips() throws {
        let text = #"{"a":"line\nbreak \"q\" \\","b":[1,2.5,null,false],"c":{}}"#
        let v = try JSONParser.parse(text)
        #expect(v.serialized == text)
        #expect(try JSONParser.parse(v.serialized) == v)
    }

    @Test func loneSurrogateBecomesReplacementCharacter() throws {
        #expect(try JSONParser.parse(#""\ud800x""#).text == "\u{FFFD}x")
    }
}
