"""Nouns that are never a thing on screen, from WordNet 3.0 (written by
benchmarks/questions/make_abstract_nouns.py, which says which; do not edit by hand)."""
# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved.
# THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES,
# EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR
# WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE,
# DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.
# The name of Princeton University or Princeton may not be used in advertising or publicity pertaining to
# distribution of the software and/or database. Title to copyright in this software, database and any associated
# documentation shall at all times remain with Princeton University and LICENSEE agrees to preserve same.

ABSTRACT_NOUNS = frozenset("""
    abandon abhorrence ability abrasiveness abruptness abscissa absolute abstention abstractness abstruseness
    acceptability accessibility accountability accuracy acerbity acidity acoustics acquirement acquisitiveness
    acreage acrimony activism acuity acuteness adaptability adeptness adequacy adroitness advisability advisement
    aerodynamics aeronautics aesthetics affability affect affection aftertaste aggressiveness agility agnosticism
    agronomy aimlessness airiness alacrity algebra algorithm alkalinity aloofness alternative altruism amateurism
    amazement ambition ambitiousness ambivalence amenity amiability amicability amnesia amorality amorousness analog
    analogue anarchism anesthesiology angst animism animosity animus anthropology anthropomorphism antipathy apathy
    aplomb appetite appositeness apprehensiveness appropriateness aptitude aptness aqua arbitrariness archaeology
    archeology archetype ardor ardour arduousness arithmetic aroma arrogance artfulness articulateness artificiality
    artistry artlessness ascription asperity assertiveness asset assiduousness astonishment astringency astrology
    astronautics astronomy astrophysics astuteness asymmetry atheism attentiveness attractiveness attribution
    audaciousness audacity audibility auspiciousness austerity authenticity autism avail availability avidity
    avionics awareness awe awfulness awkwardness azure backwardness bacteriology badness bafflement baseness
    bashfulness bawdiness beastliness beige belief bellicosity belligerence bellyful beneficence bewilderment
    bigness bigotry bind binomial biochemistry biodiversity biofeedback biophysics biopsy biotechnology birthmark
    bitterness blandness blemish blondness bloodstain bloodthirstiness blotch bluntness blur boastfulness boldness
    boredom boyishness brainstorm brashness bravery brawn brawniness brazenness breadth briefness brightness
    brilliance brilliancy briskness brittleness broadness brunt brusqueness bulk bulkiness buoyancy caliber calibre
    callousness candidness candor candour capaciousness caprice capriciousness cardiology carefulness carmine
    casualness casuistry catholicity cautiousness celerity cerise certainty certitude chafing chagrin charisma
    cheapness cheerfulness cheerlessness chic childishness chilliness chiropody chivalry chubbiness chutzpa chutzpah
    circularity circumspection civics clarity classicism clearness cleverness closeness clumsiness cockiness
    cogitation cognisance cognizance coldness combustibility compactness comparability compassion compatibility
    competence competency competitiveness complacence complacency complaisance complementary complexity comportment
    composure comprehensibility compulsiveness compunction comradeship concept conditioning configuration
    conformance congeniality congruence congruity connectivity conscience conscientiousness consciousness
    conservatism constancy consternation construct contentment contiguity continence contradistinction contrariness
    contrition conventionality cool coolness coordinate cordiality corpulence correctness correlative cosmogony
    cosmology costliness counterculture counterexample courage courtliness cowardice cowardliness coyness craftiness
    craftsmanship crankiness crassness craving creaminess creationism creativeness creativity credibility credo
    credulity creepiness crescendo criminology crimson crisscross crossness cryogenics crystallography cull cunning
    cupidity curliness curtness cuteness cybernetics cynicism cytology daintiness damn darwinism datum dauntlessness
    daydream daze dazzle deadliness dearness deceitfulness decency deceptiveness decisiveness deconstruction decorum
    decrescendo deepness defeatism defensiveness definiteness deftness deliciousness delight demeanor demeanour
    demography denseness density dentistry dependability deportment dermatology desirability despondency
    destructiveness determinism deterrent detestation deviousness devoutness dexterity diagnostics dietetics
    diffidence diffuseness digitisation digitization dilemma dimension dipsomania directness disadvantage
    disaffection disarray disbelief discernment discomfiture discomposure discontent discontentment disenchantment
    disgust disharmony disillusionment disincentive disinclination disinterest dislike disloyalty dismay
    disorientation disparity displeasure disquiet dissatisfaction dissimilarity dissoluteness distaste
    distinctiveness distrust diversity divisibility docility doctrine doggedness dogmatism doubt dowdiness downgrade
    drabness drawback dread dreariness dualism dubiety dubiousness ductility dudgeon dullness dumbness durability
    duress dynamics dynamism eagerness earliness earnestness ebullience eclecticism economics edginess edibility
    edification eeriness effectiveness effeminacy efficacy effrontery effulgence effusiveness egalitarianism ego
    egoism egotism eigenvalue elaborateness elasticity electronics elegance eligibility elitism elusiveness
    emaciation embryology emotion emotionalism empathy endlessness enhancer ennui enormousness enthusiasm
    entitlement entomology entropy enviousness epidemiology epistemology equanimity equivalent erectness ergonomics
    erudition eschatology esthetics ethics ethnicity ethnology ethos eugenics euphony euphoria evasiveness evocation
    exactitude exactness excellence excitability exclusiveness exemplar exhilaration existentialism exorbitance
    exorcism expansiveness expectancy expedience expediency expertise expertness explicitness expressiveness
    extensiveness external extrapolation extremism exuberance eyesight eyesore facetiousness factorial factorisation
    factorization faintness fairness faithfulness faithlessness falconry fallacy fallibility falsetto
    familiarisation familiarization fanaticism fancy fascism fastidiousness fatalism fatness fatuousness fealty fear
    fearfulness fearlessness feasibility federalism feelings femininity ferociousness ferocity fervency fickleness
    fidelity fidget fierceness fieriness figment fillip finality fineness finesse firepower firmness fixity
    flabbiness flamboyance flammability fleetness flexibility flightiness flimsiness flippancy fluffiness fluidity
    fluster folklore fondness foolhardiness forcefulness foresight forestry foretaste forethought forgetfulness
    forthrightness fortitude forwardness fractal fragility fragrance frankness freethinking fretfulness friendliness
    fright frigidity frostiness frugality fruitfulness fruitlessness functionality fundamentalism furtiveness
    fussiness futility fuzziness gaiety gamesmanship garishness garrulity garrulousness gauntness gawkiness
    generalisation generality generalization genetics geniality gentility gentleness geography geology geometry
    geophysics geopolitics geriatrics gerontology ghastliness ghostliness give given gladness glamour glee glibness
    glimmering glitz glossiness glut godliness goodness gracefulness gracelessness graciousness grammar grandeur
    granularity graphology gratefulness gratitude grayness greasiness greatness greediness gregariousness greyness
    grief grimness grossness grudge gruffness grumpiness guesswork guise gullibility gusto gynaecology gynecology
    habitability haematology hairiness hairsplitting handedness handiness handsomeness hankering hardiness hardness
    harmfulness harmonic harmoniousness harshness hastiness hate hatefulness hatred haughtiness haziness
    healthfulness heartache heartbreak heartiness heartlessness heaviness hedonism heed heedlessness heft
    heinousness helpfulness hematology heresy heroism hesitancy heterodoxy heuristic hideousness hilarity hindsight
    hoariness hoarseness holiness holography homeliness homesickness homogeneity homophobia hopelessness horology
    horsemanship hubris hue humaneness humanitarianism humanities humanness humility hush huskiness hutzpah
    hydraulics hydrology hypothetical iciness idealism ideology idiocy ignorance illegality illegibility illicitness
    illiteracy imagery imagination immediacy immensity immunology immutability impartiality impassivity
    impeccability impenetrability impenitence imperiousness impermanence imperturbability impetuosity impiety
    impishness implausibility impoliteness impracticality imprecision impressiveness improbability improvidence
    imprudence impulsiveness inability inaccessibility inaccuracy inadvertence inanity inattention incapability
    incapacity incisiveness incivility incongruity inconsiderateness inconspicuousness inconstancy incorrectness
    incorruptibility incredibility incredulity indecision indecisiveness indeterminacy indifference indignation
    indirectness indistinctness individualism individuality indolence industriousness ineffectiveness inefficiency
    ineligibility ineptitude ineptness inequality inequity inertness inevitability inexperience infallibility
    infatuation infelicity inference infidelity inflexibility informality infrequency ingenuity ingenuousness
    ingratitude inkblot inkling inquietude inquisitiveness insensibility insensitivity insentience insidiousness
    insight insignificance insincerity insolubility insouciance instinct integral intelligibility intensity
    intentness internationalism intolerance intractability intransigence intricacy introspection intuition
    invalidity invariant inventiveness invincibility invisibility irascibility iridescence irresolution
    irresponsibility irritability irritant it itchiness itching jaggedness jauntiness jealousy jolliness jollity
    joviality joy joyfulness joyousness judiciousness juiciness jumpiness justness keenness ken kind kindliness
    kinematics knack languor largeness lasciviousness lateness lawfulness lean leanness learning legalism legality
    legibility legitimacy leninism letdown letters levity lewdness liberalism liberality libido lifestyle
    lightheartedness lightness likelihood lilt limpidity limpness linguistics listlessness literacy litigiousness
    littleness loathsomeness loftiness logic longevity longing lopsidedness loquacity lore loudness loveliness
    lugubriousness luminosity lusciousness luster lustre luxuriance machination macrobiotics magnanimity
    magnificence mainstream majesty maleness malevolence malice malignity malleability manageability maneuverability
    manliness manner manoeuvrability marksmanship marxism masculinity masochism massiveness math mathematics mauve
    meagerness meagreness mean meanness median meditation meekness mellowness melodiousness meme memento
    memorisation memorization mendacity mentality merit merriness metallurgy metaphysics methodology meticulousness
    mettle microbiology microcosm microeconomics militancy militarism mindfulness mindlessness mineralogy minuteness
    minutia mirth misalignment misanthropy misapprehension misconception miserliness misgiving mismatch misogyny
    mistiness mistrust mobility modernity modesty moldiness momentousness momentum monarchism monasticism monetarism
    monomania monotheism monotony moodiness morality morals mores moroseness morphology motherliness motivator
    mottle mournfulness mulishness multiculturalism multifariousness multiple multiplicity munificence mushiness
    musicianship musicology musing muskiness mustiness mutability mysticism mystique naivety nanotechnology
    narcissism narcosis narrowness nationalism naturalness naughtiness navigability nearness necromancy necrophilia
    nefariousness neighborliness neighbourliness neoclassicism neurology newness niceness niggardliness nimbleness
    nobleness noiselessness noisiness nonchalance normal nosiness nostalgia numeracy numerology nymphomania obduracy
    obesity objectiveness objectivity obliqueness obliviousness obsequiousness obsession obstetrics obstinacy
    obtrusiveness obtuseness obviousness oceanography odor odour offensiveness officiousness oiliness oncology
    oneness onus opalescence opaqueness openness operand ophthalmology opportunism optics optimism optimum
    ordinariness originality ornithology orthodontia orthodontics orthodoxy orthopaedics orthopedics outspokenness
    overmuch oversupply overweight pacifism paediatrics paganism palaeontology paleness paleontology pallor
    palmistry paltriness pantheism parallelism parochialism parsimony partial partiality particularity partisanship
    passivity pastel patchiness paternalism patriotism paucity pediatrics peeve peevishness penchant penitence
    penology pensiveness pep percentile perceptiveness perdition perfectionism periodicity perkiness permanence
    permeability permissiveness perpetuity perplexity persona perspective perspicacity perspicuity persuasiveness
    pertinacity pertness perverseness perversity pessimism petite pettiness petulance ph phantasmagoria pharmacology
    phenotype philology philosophy phonetics phonology phrenology physics physiology pianissimo piety piggishness
    piquancy placidity plasticity plausibility pleasantness plenitude plentitude plethora pliability pliancy
    plumpness podiatry poenology pointlessness polynomial polytheism pomposity pompousness popularity populism
    porosity portability positivism possessiveness posture posturing powerlessness practicability practicality
    pragmatics pragmatism praiseworthiness prearrangement preciosity preciousness preciseness precision
    precociousness precocity preconception predictability predilection preference prejudgement prejudgment prejudice
    premeditation preponderance prerequisite prerogative presbyterianism prescience presentiment presumptuousness
    presupposition pretentiousness prettiness primness privilege probability probity proclivity productiveness
    professionalism proficiency profitability profundity profusion promptness proneness propensity propinquity
    propriety protectiveness prototype provincialism prowess prudence prudery prurience psychiatry psychology
    pugnacity pulchritude punctuality puritanism purpose purview pushiness pusillanimity puzzlement pyromania
    quaintness quantum quarto quickness quietness quietude raciness radicalism raggedness rakishness rancor rancour
    randomness rankness rapaciousness rapidity rareness rashness rationale rationalism readability reappraisal
    reassessment recalcitrance receptiveness receptivity recklessness recollection rectitude recursion redolence
    reek refulgence regimen regret regularity reject relativity relentlessness reliability reminiscence remissness
    remorse remoteness repentance republicanism repulsiveness resemblance resentment resoluteness resourcefulness
    respectability resplendence restfulness restiveness retentiveness rethink reticence retrospect revaluation
    reverie revulsion righteousness rightfulness rightness rigidity rigidness rigor rigour robotics robustness
    rocketry rockiness rococo romanticism rote ruddiness ruggedness rusticity ruthlessness sacredness sadism
    safeness sagacity saintliness salaciousness salesmanship salinity sameness sanctity sandiness sapience satanism
    sauciness savageness savor savour savvy scalar scantiness scarceness scarcity scarlet scent scepticism schema
    schmaltz schmalz science scratchiness seamanship secretiveness sectarianism sectionalism secularism seediness
    seemliness seismology selectivity selfishness semantics senselessness sensibility sensitiveness sensuality
    sensuousness sentience sentiment sentimentality serenity seriousness servility severity sexiness sexuality
    shallowness shamefulness sharpness sheen sheepishness shiftiness shiftlessness shine shininess shoddiness
    shortcoming shortfall showiness showmanship shrewdness shrillness shyness silliness similarity simmer simpleness
    simplicity sincerity sinfulness singularity skepticism skill skinniness slackness slant sleekness slenderness
    slightness slimness slipperiness slothfulness slowness slyness smallness smugness snobbery snobbishness
    sociability sociology solemnity solicitude solidarity sonority sooth sophism sophistry sorcery soulfulness
    sourness spaciousness spareness sparseness speckle spiciness spiritualism spite spitefulness splendor splendour
    splotch spontaneity sportsmanship sprightliness springiness squareness staleness stamina stance standpoint
    starkness stateliness statesmanship statistic statistics steadfastness steadiness steepness stench stereotype
    sternness stickiness stiffness stimulus stinginess stink stodginess stoicism stolidity stoutness strangeness
    strategy strenuousness strictness stubbornness stupor stylishness suavity subconscious subjectivity sublimity
    subtotal succulence suddenness sufferance suffrage suitability sulkiness sullenness superabundance superego
    superficiality superfluity superstition suppleness sureness surliness surplus suspense swank sweetness swiftness
    syllogism taboo tabu taciturnity tackiness tact tactic tactlessness talkativeness tallness tameness tangibility
    tardiness tarnish tartness tastelessness tastiness taupe tawdriness taxidermy technicality technique tectonics
    tediousness tedium temerity temper temperature tenability tenacity tendentiousness testiness texture
    thankfulness theism theory theosophy therapeutics thermodynamics think thinness thoroughness thought
    thoughtlessness thriftiness timbre timeliness timidity tingle tint tirelessness tiresomeness togetherness
    topography topology toughness toxicology tradition trait transcendentalism transience transiency translucence
    treble trepidation trickiness trigonometry triteness truculence trustfulness trustworthiness truthfulness twinge
    ugliness umbrage unacceptability unbelief uncertainty unconcern unconscious unconsciousness unctuousness
    underestimate undesirability unevenness unfaithfulness unfamiliarity unfriendliness uniformity uniqueness
    universality unkindness unlikelihood unpleasantness unpopularity unpredictability unreliability unruliness
    unscrupulousness unsightliness unsteadiness untimeliness unwieldiness unwillingness unworthiness urbanity urge
    urology usability usefulness uselessness utilitarianism utmost vagueness vainglory valence validity validness
    valor valour vapidity vapidness variability variate vastness vehemence venality ventriloquism veracity
    verisimilitude vermilion versatility verve viability vibe vibrancy viciousness vigilance vigor vigour vileness
    vindictiveness virility virology virtue virtuosity virtuousness virulence viscosity vista visualisation
    visualization vivacity vividness volatility volubility voluptuousness voodooism vulgarity waking wanderlust
    wangle wantonness wariness warmth watchfulness wavelength waviness waxiness weighing weightiness weightlessness
    weirdness whim whimsey whimsicality whimsy wholesomeness why wideness width wildness wilfulness wiliness
    willfulness willingness willpower wingspan wistfulness witchcraft witchery wizardry womanliness wonderment wont
    woodcraft woodenness woodiness workmanship worldliness worry worthiness worthlessness wraith wrongfulness
    wrongness yearning yellow youthfulness zeal
""".split())
