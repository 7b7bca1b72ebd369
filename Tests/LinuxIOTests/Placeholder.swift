import Testing
@Test func placeholderLinuxIOTests() { #expect(Bool(true)) }
