import AuditCore
import Testing

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2024-05-29T14:02:11.4732210Z", "2024-05-29T14:02:11.473221Z"),
        ("2024-04-08T12:23:02.4350000Z", "2024-04-08T12:23:02.435000Z"),
        ("2019-10-22T18:02:42.22Z", "2019-10-22T18:02:42.220000Z"),
        ("2019-10-22T18:02:42.535404056Z", "2019-10-22T18:02:42.535404Z"),
        ("2019-02-20T12:00:19.418-06:00", "2019-02-20T18:00:19.418000Z"),
        ("2020-11-15T10:00:00+02:00", "2020-11-15T08:00:00.000000Z"),
        ("2024-05-29 15:32:10.000000", "2024-05-29T15:32:10.000000Z"),
        ("2016-11-17", "2016-11-17T00:00:00.000000Z"),
        ("Wed, 29 May 2024 14:05:00 Z", "2024-05-29T14:05:00.000000Z"),
        ("Thu, 17 Nov 2022 08:36:00 GMT", "2022-11-17T08:36:00.000000Z"),
        ("Tue, 02 Sep 2014 10:36:00 -0700", "2014-09-02T17:36:00.000000Z"),
        ("01/09/2007 09:41:00", "2007-01-09T09:41:00.000000Z"),
        ("1/9/2007 9:41:00 AM", "2007-01-09T09:41:00.000000Z"),
        ("1/9/2007 9:41:00 PM +01:00", "2007-01-09T20:41:00.000000Z"),
        ("11/3/2020 9:06:42 AM +00:00", "2020-11-03T09:06:42.000000Z"),
        ("638481757794854611", "2024-04-08T12:22:59.485461Z"),
        ("1716996730", "2024-05-29T15:32:10.000000Z"),
    ])
    func parsesEveryFormAzureEmits(_ input: String, _ expected: String) {
        #expect(Timestamp.parse(input).map(Timestamp.iso) == expected)
    }

    @Test(arguments: ["", "yesterday", "2024-13-01", "2024-05-29T25:00:00Z", "32/1/2020", "Wed, 29 Foo 2024 14:05:00 Z", "2024-05-29T14:02:11Zjunk"])
    func rejectsNonsense(_ input: String) {
        #expect(Timestamp.parse(input) == nil)
    }

    @Test func formatsBasicAndMinute() {
        let t = Timestamp.parse("2026-11-23T04:05:06.123456Z")!
        #expect(Timestamp.basic(t) == "20261123T040506Z")
        #expect(Timestamp.iso(Timestamp.minuteFloor(t)) == "2026-11-23T04:05:00.000000Z")
        #expect(Timestamp.iso(Timestamp.minuteFloor(-1)) == "1969-12-31T23:59:00.000000Z")
    }

    @Test func durationsCountBackFromNow() {
        let now = Timestamp.parse("2026-11-30T00:00:00Z")!
        #expect(TimeArgument.parse("7d", now: now).map(Timestamp.iso) == "2026-11-23T00:00:00.000000Z")
        #expect(TimeArgument.parse("36h", now: now).map(Timestamp.iso) == "2026-11-28T12:00:00.000000Z")
        #expect(TimeArgument.parse("90m", now: now).map(Timestamp.iso) == "2026-11-29T22:30:00.000000Z")
        #expect(TimeArgument.parse("2026-11-23", now: now).map(Timestamp.iso) == "2026-11-23T00:00:00.000000Z")
        #expect(TimeArgument.parse("soon", now: now) == nil)
    }
}
